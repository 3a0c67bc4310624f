"""The request context from Redis: a signed-in request reads no session, user or organisation
from the database, yet every change to them counts at once, and losing Redis logs nobody out."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Organization, Role, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
FEED = "/dashboard/activity/"  # a page whose only own statement is its one feed query


def signed_in(client, user):
    client.force_login(user)
    assert client.get(FEED).status_code == 200  # reads the context once, into Redis
    return client


def sent_to_login(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_signed_in_request_reads_no_session_user_or_organisation(
    client, owner, django_assert_num_queries
):
    signed_in(client, owner)
    with django_assert_num_queries(1):  # the feed's rows, nothing else
        assert client.get(FEED).status_code == 200


def test_a_user_disabled_is_signed_out_at_once(client, owner):
    signed_in(client, owner)
    owner.is_active = False
    owner.save()
    assert sent_to_login(client.get(FEED))


def test_a_user_disabled_in_bulk_is_signed_out_at_once(client, owner):
    signed_in(client, owner)
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert sent_to_login(client.get(FEED))


def test_a_password_change_ends_the_other_sessions(client, owner):
    signed_in(client, owner)
    owner.set_password("a-new-and-long-password")
    owner.save()
    assert sent_to_login(client.get(FEED))


def test_a_deleted_user_is_signed_out(client, colleague):
    signed_in(client, colleague)
    colleague.delete()
    assert sent_to_login(client.get(FEED))


def test_a_role_change_applies_to_the_next_request(client, owner):
    signed_in(client, owner)
    assert "Customise</a>" in client.get("/dashboard/").content.decode()
    User.objects.filter(pk=owner.pk).update(role=Role.VIEWER)
    assert "Customise</a>" not in client.get("/dashboard/").content.decode()
    assert client.get(reverse("targets-create")).status_code == 403


def test_an_organisation_change_applies_to_the_next_request(client, owner, org):
    signed_in(client, owner)
    org.name = "Renoz Storage"
    org.save()
    assert "Renoz Storage <span" in client.get("/dashboard/").content.decode()
    Organization.objects.filter(pk=org.pk).update(timezone="Australia/Perth")
    assert 'data-tz="Australia/Perth"' in client.get("/dashboard/").content.decode()


def test_a_signed_out_session_cannot_be_used_again(client, owner):
    signed_in(client, owner)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("accounts-logout"))
    client.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert sent_to_login(client.get(FEED))


def test_emptying_redis_signs_nobody_out(client, owner):
    client.post(reverse("accounts-login"), {"username": owner.email, "password": PASSWORD})
    cache.clear()
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert owner.organization.name in page.content.decode()
