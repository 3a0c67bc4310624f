"""Finding 5: staff with change_user never reach a superuser; superusers stand apart."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from accounts.models import OPERATORS_ORG_NAME, Role, User
from tests.conftest import PASSWORD, make_user


@pytest.fixture
def staff(org) -> User:
    user = make_user(org, Role.ADMIN, email="staff@renoz.test")
    user.is_staff = True
    user.save()
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_user", "view_user", "delete_user"])
    )
    return user


@pytest.fixture
def superuser_in_org(org) -> User:
    return User.objects.create_superuser(
        email="root@renoz.test", password=PASSWORD, organization=org
    )


@pytest.mark.django_db
def test_staff_cannot_reset_a_superusers_password(client, staff, superuser_in_org):
    client.force_login(staff)
    url = f"/admin/accounts/user/{superuser_in_org.pk}/password/"
    assert client.get(url).status_code == 404
    response = client.post(url, {"password1": "pwned-pwned-123", "password2": "pwned-pwned-123"})
    assert response.status_code == 404
    superuser_in_org.refresh_from_db()
    assert superuser_in_org.check_password(PASSWORD)


@pytest.mark.django_db
def test_staff_do_not_see_or_change_superusers(client, staff, superuser_in_org, colleague):
    client.force_login(staff)
    listing = client.get("/admin/accounts/user/")
    assert listing.status_code == 200
    assert b"root@renoz.test" not in listing.content
    assert colleague.email.encode() in listing.content
    change = f"/admin/accounts/user/{superuser_in_org.pk}/change/"
    assert client.get(change).status_code in (302, 404)
    assert client.post(
        f"/admin/accounts/user/{superuser_in_org.pk}/delete/", {"post": "yes"}
    ).status_code in (302, 404)
    assert User.objects.filter(pk=superuser_in_org.pk, is_superuser=True).exists()
    # Their own colleagues are still theirs to manage.
    assert client.get(f"/admin/accounts/user/{colleague.pk}/password/").status_code == 200


@pytest.mark.django_db
def test_superuser_gets_no_customer_organisation_by_default(org):
    root = User.objects.create_superuser(email="ops@renoz.test", password=PASSWORD)
    assert root.organization.name == OPERATORS_ORG_NAME
    assert root.organization_id != org.pk
