"""Authentication: Django's model backend, whose per-request user comes with its organisation
from Redis (accounts.cache), or from one query when either changed."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.cache import USER_CACHE_SECONDS, organization_key, user_key
from accounts.models import User
from infra.contextcache import context_cache

_FIELDS = [f.attname for f in User._meta.concrete_fields]


def load_user(user_id) -> User | None:
    """The user with their organisation attached, or None when there is no such user."""
    user = context_cache.get(user_key(user_id))
    organization = (
        context_cache.get(organization_key(user.organization_id)) if user is not None else None
    )
    if user is not None and organization is not None:
        user.organization = organization
        return user
    user = User._default_manager.select_related("organization").filter(pk=user_id).first()
    if user is None:
        return None
    # The user's own fields only: their organisation is cached (and dropped) on its own.
    bare = User.from_db(user._state.db, _FIELDS, [getattr(user, f) for f in _FIELDS])
    context_cache.set(user_key(user.pk), bare, USER_CACHE_SECONDS)
    context_cache.set(organization_key(user.organization_id), user.organization, USER_CACHE_SECONDS)
    return user


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        """The signed-in user, or None when they are gone or disabled. Django then checks the
        session's password hash against theirs, so a password change still logs out."""
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
