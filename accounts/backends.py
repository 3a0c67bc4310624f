"""Authentication: Django's model backend, whose per-request user comes with its organisation
from Redis (accounts.cache), or from one query when either changed."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.cache import USER_CACHE_SECONDS, organization_key, user_key
from accounts.models import User
from infra.contextcache import context_cache

_FIELDS = [f.attname for f in User._meta.concrete_fields]

# The session's note of the signed-in user's organisation, written at sign-in (accounts.apps):
# with it, the user, their organisation and the request's context are one round trip.
ORGANIZATION_SESSION_KEY = "_renoz_org"


def note_organization(sender, request, user, **kwargs) -> None:
    """user_logged_in: remember the user's organisation in their session."""
    if request is not None and hasattr(request, "session"):
        request.session[ORGANIZATION_SESSION_KEY] = user.organization_id


def _prefetch(user_id) -> None:
    """Read the user, their organisation and the keys the request's planners name
    (infra.contextcache.plan) in one MGET, when the session says which organisation; else
    the user alone, then the rest once the user says it."""
    request = context_cache.request()
    if request is None:  # not answering a request: no memo to read into
        return
    session = getattr(request, "session", None)
    org_id = session.get(ORGANIZATION_SESSION_KEY) if session is not None else None
    if org_id is None:
        context_cache.prefetch([user_key(user_id)])
        user = context_cache.get(user_key(user_id))
        if user is None:
            return
        org_id = user.organization_id
    # Tricky: the note is only a guess at the keys to read; what is used is the user's own
    # organisation_id (a key read for another one is simply not asked for).
    keys = [user_key(user_id), organization_key(org_id)]
    context_cache.prefetch(keys + context_cache.planned(user_id, org_id))


def load_user(user_id) -> User | None:
    """The user with their organisation attached, or None when there is no such user."""
    _prefetch(user_id)
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
