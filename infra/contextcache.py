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


# Inside prefetched(): {key: value or None} read in one round trip for the request.
_prefetched: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "contextcache_prefetched", default=None
)


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

    @contextmanager
    def prefetched(self, keys: list[str]):
        """Inside, get() of these keys answers from one MGET made on entry (a page that will
        read several small values of its request context pays one round trip, not one each);
        a set() or delete() of one forgets what was read, so the next get() asks Redis."""
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
