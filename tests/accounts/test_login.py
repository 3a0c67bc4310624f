import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_email_reaches_dashboard(client, owner):
    response = client.post(
        reverse("accounts-login"), {"username": owner.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert owner.organization.name in page.content.decode()


def test_login_with_wrong_password_shows_error(client, owner):
    response = client.post(reverse("accounts-login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()


def test_dashboard_requires_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts-login"))


def test_logout_ends_session(client, owner):
    client.force_login(owner)
    response = client.post(reverse("accounts-logout"))
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302
