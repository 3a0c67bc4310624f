"""What every request needs, kept in Redis: its session, and small values such as its dashboard
layout. This module is also the session engine (SESSION_ENGINE = "infra.contextcache").

Reads go through a breaker: when Redis fails, this process skips it for a few seconds and
answers from the database, so a dead Redis costs one socket timeout, not one per call (as
metrics.cache does for the metric values). Sessions are still written to the database too
(Django's cached_db engine), so a flushed or lost Redis logs nobody out.
"""

from __future__ import annotations

import logging
import time
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


class ContextCache:
    """The few cache methods the session store and the layout cache use, through the breaker."""

    def get(self, key: str, default: Any = None) -> Any:
        return _call(lambda client: client.get(key, default), default)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT) -> None:
        _call(lambda client: client.set(key, value, timeout))

    def delete(self, key: str) -> None:
        _call(lambda client: client.delete(key))

    def __contains__(self, key: str) -> bool:
        return bool(_call(lambda client: client.has_key(key), False))


context_cache = ContextCache()


class SessionStore(cached_db.SessionStore):
    """Django's cached_db sessions (read from Redis, written to both), through the breaker."""

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._cache = context_cache
