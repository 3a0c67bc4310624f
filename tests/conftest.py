"""Shared fixtures: an organisation with users of every role, and an outsider org."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import Organization, Role, User
from infra import contextcache
from metrics import cache as metric_cache

PASSWORD = "correct-horse-battery"  # noqa: S105 - test-only


@pytest.fixture(scope="session", autouse=True)
def _close_connections_before_the_test_database_goes(django_db_setup, django_db_blocker):
    """Module fixtures that seed outside a test's transaction (seed_demo) leave this thread's
    persistent connection open (CONN_MAX_AGE); close it so the test database can be dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        connections.close_all()


def make_user(org: Organization, role: str, email: str | None = None) -> User:
    email = email or f"{role}@{org.name.lower().replace(' ', '-')}.test"
    return User.objects.create_user(
        email=email, password=PASSWORD, organization=org, role=role, full_name=role.title()
    )


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="Renoz Energy", timezone="Australia/Sydney")


@pytest.fixture
def other_org(db) -> Organization:
    return Organization.objects.create(name="Outsider Pty Ltd", timezone="Australia/Perth")


@pytest.fixture
def owner(org) -> User:
    return make_user(org, Role.ADMIN)


@pytest.fixture
def colleague(org) -> User:
    return make_user(org, Role.SALES)


@pytest.fixture
def outsider(other_org) -> User:
    return make_user(other_org, Role.ADMIN)


@pytest.fixture
def users_by_role(org) -> dict[str, User]:
    return {role.value: make_user(org, role.value) for role in Role}


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (tests use their own Redis database), and with
    the Redis breaker closed, whatever an earlier test did to Redis."""
    metric_cache.reset_breaker()
    contextcache.reset_breaker()
    try:
        cache.clear()
    except Exception:  # noqa: BLE001 - a test may have pointed the cache at a dead Redis
        pass
    yield
