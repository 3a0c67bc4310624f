"""The signed-in user and their organisation, cached in Redis (infra.contextcache) so a request
reads neither from the database; backends.UserBackend reads them.

Every write drops the entries at once and again when its transaction commits (so no reader
caches the row being replaced): saves and deletes through signals, queryset updates through
the models' querysets. A password change therefore still ends other sessions at once (Django
compares the session's hash with the cached password's), as does deactivating a user.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from infra.contextcache import context_cache

USER_CACHE_SECONDS = 300


def user_key(user_id) -> str:
    return f"user:{user_id}"


def organization_key(org_id) -> str:
    return f"org:{org_id}"


def owners_key(org_id) -> str:
    """The organisation's people an owner filter can pick (metrics.filters.owner_choices)."""
    return f"owners:{org_id}"


def _forget(keys: list[str]) -> None:
    def drop():
        for key in keys:
            context_cache.delete(key)

    drop()
    transaction.on_commit(drop)


def forget_users(user_ids: Iterable, org_ids: Iterable = ()) -> None:
    """Drop the users' cached rows and their organisations' owner choices."""
    _forget([user_key(pk) for pk in user_ids] + [owners_key(pk) for pk in set(org_ids)])


def forget_organizations(org_ids: Iterable) -> None:
    _forget([organization_key(pk) for pk in org_ids])


def user_changed(sender, instance, **kwargs) -> None:
    """post_save / post_delete of a User (connected in accounts.apps)."""
    forget_users([instance.pk], [instance.organization_id])


def organization_changed(sender, instance, **kwargs) -> None:
    """post_save / post_delete of an Organization (connected in accounts.apps)."""
    forget_organizations([instance.pk])
