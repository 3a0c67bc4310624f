"""What every request needs, kept in Redis: its session, and small values such as its dashboard
layout. This module is also the session engine (SESSION_ENGINE = "infra.contextcache").

Reads go through a breaker: when Redis fails, this process skips it for a few seconds and
answers from the database, so a dead Redis costs one socket timeout, not one per call (as
metrics.cache does for the metric values). Sessions are still written to the database too
(Django's cached_db engine), so a flushed or lost Redis logs nobody out.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from django.contrib.sessions.backends import cached_db
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from infra import breaker

log = logging.getLogger("renoz.cache")

BREAKER_SECONDS = 5.0
_open_until = 0.0


def reset_breaker() -> None:
    global _open_until
    _open_until = 0.0
    breaker.REDIS.reset()


def _call(fn, default=None):
    """fn(the django-redis client) or `default` when Redis is failing; the client raises where
    the cache's own methods would swallow the error (IGNORE_EXCEPTIONS)."""
    global _open_until
    if time.monotonic() < _open_until:
        return default
    try:
        return fn(cache.client)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any Redis failure degrades to the database
        _open_until = time.monotonic() + BREAKER_SECONDS
        log.warning(
            "Redis unavailable, request context from the database for %ss: %s",
            BREAKER_SECONDS,
            exc,
        )
        return default


# Inside a request (RequestContextMiddleware) or prefetched(): {key: value or None} read in one
# round trip, and the request being answered.
_prefetched: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "contextcache_prefetched", default=None
)
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("contextcache_request", default=None)

# Functions (request, user id, organisation id) -> keys the request will read besides its user,
# registered by the apps whose pages read them (dashboard.apps): read with the user.
Planner = Callable[[Any, int, int], list[str]]
_planners: list[Planner] = []


def plan(planner: Planner) -> None:
    """Register a planner: the keys it names are read in the same round trip as the user."""
    if planner not in _planners:
        _planners.append(planner)


class ContextCache:
    """The few cache methods the session store and the layout cache use, through the breaker."""

    def get(self, key: str, default: Any = None) -> Any:
        memo = _prefetched.get()
        if memo is not None and key in memo:
            value = memo[key]
            return default if value is None else value
        return _call(lambda client: client.get(key, default), default)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT) -> None:
        self._forget(key)
        _call(lambda client: client.set(key, value, timeout))

    def delete(self, key: str) -> None:
        self._forget(key)
        _call(lambda client: client.delete(key))

    @staticmethod
    def _forget(key: str) -> None:
        memo = _prefetched.get()
        if memo is not None:
            memo.pop(key, None)

    def prefetch(self, keys: list[str]) -> None:
        """Read these keys in one MGET into the request's memo (those not read yet), so that
        get() of them answers from it; outside a request and prefetched(), nothing."""
        memo = _prefetched.get()
        if memo is None:
            return
        wanted = [key for key in dict.fromkeys(keys) if key not in memo]
        if not wanted:
            return
        found = _call(lambda client: client.get_many(wanted), {}) or {}
        memo.update({key: found.get(key) for key in wanted})

    def planned(self, user_id, org_id) -> list[str]:
        """The keys the registered planners say this request will read (none outside one)."""
        request = _request.get()
        if request is None:
            return []
        return [key for planner in _planners for key in planner(request, user_id, org_id)]

    @staticmethod
    def request():
        """The request being answered (RequestContextMiddleware), or None."""
        return _request.get()

    @contextmanager
    def prefetched(self, keys: list[str]):
        """Inside, get() of these keys answers from one MGET made on entry (a page that will
        read several small values of its request context pays one round trip, not one each);
        a set() or delete() of one forgets what was read, so the next get() asks Redis.
        Inside a request, keys already read with its user (plan) cost nothing more."""
        if _prefetched.get() is not None:  # the request's memo: add what it lacks
            self.prefetch(keys)
            yield
            return
        found = _call(lambda client: client.get_many(keys), {}) or {}
        token = _prefetched.set({key: found.get(key) for key in keys})
        try:
            yield
        finally:
            _prefetched.reset(token)

    def __contains__(self, key: str) -> bool:
        return bool(_call(lambda client: client.has_key(key), False))


context_cache = ContextCache()


class SessionStore(cached_db.SessionStore):
    """Django's cached_db sessions (read from Redis, written to both), through the breaker."""

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = context_cache


class RequestContextMiddleware:
    """Opens the request's memo of its request context (after SessionMiddleware, before
    anything reads request.user): accounts.backends reads the user, their organisation and
    what the planners name for this request in one round trip, and every later get() of
    those keys in the request answers from it. A set() or delete() forgets the key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        memo_token = _prefetched.set({})
        request_token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(request_token)
            _prefetched.reset(memo_token)
