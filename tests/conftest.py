"""Shared fixtures: an organisation with users of every role, and an outsider org."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import Organization, Role, User
from infra import breaker, contextcache
from metrics import cache as metric_cache

PASSWORD = "correct-horse-battery"  # noqa: S105 - test-only


@pytest.fixture(scope="session", autouse=True)
def _close_connections_before_the_test_database_goes(django_db_setup, django_db_blocker):
    """Leave no session on the test database when pytest-django drops it.

    Module fixtures that seed outside a test's transaction (seed_demo) leave persistent
    connections (CONN_MAX_AGE) open, some in threads this thread cannot close; in the whole
    suite one stayed idle and the drop warned "being accessed by other users". The test
    database is this run's alone, so its leftover sessions are ended here."""
    yield
    from django.db import connection, connections

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
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
    breaker.BROKER.reset()
    try:
        cache.clear()
    except Exception:  # noqa: BLE001 - a test may have pointed the cache at a dead Redis
        pass
    yield
