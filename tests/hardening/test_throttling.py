"""Findings 2 and 4: login throttling (django-axes) and rate limits on exports; export caps."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.test.utils import override_settings
from django.utils import timezone

from infra.ratelimit import rate_limited
from operations.models import Activity
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_login_is_locked_after_repeated_wrong_passwords(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            "/accounts/login/", {"username": owner.email, "password": "wrong-password"}
        )
        assert response.status_code == 200
    locked = client.post("/accounts/login/", {"username": owner.email, "password": "nope"})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_MINUTES * 60
    assert b"Too many failed log-in attempts" in locked.content
    # The right password does not get through while locked out.
    right = client.post("/accounts/login/", {"username": owner.email, "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_good_login_still_works_for_others(client, owner, colleague):
    for _ in range(10):
        client.post("/accounts/login/", {"username": owner.email, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": colleague.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_exports_are_rate_limited_with_retry_after(client, users_by_role, settings):
    settings.RATELIMIT_EXPORT = "3/m"
    client.force_login(users_by_role["viewer"])
    url = "/dashboard/drill/activities/?range=this_month&format=csv"
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)
    limited = client.get(url)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Browsing the list itself is not an export and is not limited.
    assert client.get("/dashboard/drill/activities/?range=this_month").status_code == 200


@pytest.mark.django_db
def test_reusable_decorator_limits_per_user_and_fails_open_without_redis(owner, colleague):
    calls = []

    @rate_limited("heavy", rate="2/m")
    def view(request):
        calls.append(request.user.pk)
        from django.http import HttpResponse

        return HttpResponse("ok")

    def get(user):
        request = RequestFactory().get("/api/dashboard/insights")
        request.user = user
        return view(request)

    assert [get(owner).status_code for _ in range(3)] == [200, 200, 429]
    assert get(colleague).status_code == 200  # per user
    assert json.loads(get(owner).content)["error"].startswith("Too many heavy requests")
    dead = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.1, "IGNORE_EXCEPTIONS": True},
        }
    }
    with override_settings(CACHES=dead):
        from django.core.cache import caches

        caches["default"].close()
        assert get(owner).status_code == 200
    cache.clear()


@pytest.mark.django_db
def test_exports_over_the_cap_are_refused_with_a_clear_message(client, owner, settings):
    settings.EXPORT_MAX_ROWS = 10
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(organization=owner.organization, user=owner, kind="call", occurred_at=now)
        for _ in range(11)
    )
    client.force_login(owner)
    response = client.get("/dashboard/drill/activities/?range=this_month&format=csv")
    assert response.status_code == 400
    assert b"holds at most 10" in response.content
    response = client.get("/dashboard/drill/activities/?range=this_month&format=xlsx")
    assert response.status_code == 400
    assert b"holds at most 5" in response.content


# --- issue 27 item 6: throttling across usernames -----------------------------------------


def _login(client, email, password, address):
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_one_address_guessing_across_25_usernames_is_locked_out(client, owner, settings):
    assert (settings.AXES_FAILURE_LIMIT, settings.AXES_ADDRESS_FAILURE_LIMIT) == (5, 20)
    statuses = [
        _login(client, f"person{i}@guess.test", "wrong-password", "203.0.113.7").status_code
        for i in range(25)
        for _ in range(4)
    ]
    # No username reaches its own limit of 5; the address reaches its 20th failure on the
    # 20th attempt (person4's fourth) and is locked from then on.
    assert statuses == [200] * 19 + [429] * 81
    # Locked means locked: even a right password from that address waits.
    locked = _login(client, owner.email, PASSWORD, "203.0.113.7")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_MINUTES * 60
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    assert _login(client, owner.email, PASSWORD, "198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_one_users_failures_do_not_lock_others_out_from_another_address(client, owner, colleague):
    for _ in range(5):
        _login(client, owner.email, "wrong-password", "203.0.113.7")
    assert _login(client, owner.email, PASSWORD, "203.0.113.7").status_code == 429
    assert _login(client, colleague.email, PASSWORD, "198.51.100.2").status_code == 302
    client.logout()
    # The pair (owner, first address) is locked, not the owner everywhere.
    assert _login(client, owner.email, PASSWORD, "198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_a_good_login_does_not_wipe_the_address_count(client, owner, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 6
    for i in range(5):
        assert _login(client, f"p{i}@guess.test", "wrong", "203.0.113.7").status_code == 200
    # An attacker who knows one account logs in with it ...
    assert _login(client, owner.email, PASSWORD, "203.0.113.7").status_code == 302
    client.logout()
    # ... and the address's count of failures stands: the sixth locks it.
    assert _login(client, "p5@guess.test", "wrong", "203.0.113.7").status_code == 429
