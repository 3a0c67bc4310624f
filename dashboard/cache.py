"""All dashboard caching lives here.

Keys: dash:<schema>:<org>:<org data version>:<widget>:<range>:<compare>. A refresh or a data
change bumps the organisation's version, so stale keys are never read again (they expire by
TTL). One recompute per key at a time, through a short lock. When Redis is unreachable the
reader computes from the database; a breaker then skips Redis for a few seconds so no request
pays more than one socket timeout.
"""

from __future__ import annotations

import logging
import pickle
import time

from django.core.cache import cache

log = logging.getLogger("renoz.cache")

SCHEMA_VERSION = 1
TTL_SECONDS = 300
LOCK_SECONDS = 15
WAIT_FOR_LOCK_SECONDS = 2.0
BREAKER_SECONDS = 5.0
_STATS_KEY = "dash:stats"
_breaker_open_until = 0.0


class _RedisDown(Exception):
    pass


def _client():
    if time.monotonic() < _breaker_open_until:
        raise _RedisDown
    return cache.client.get_client(write=True)  # type: ignore[attr-defined]


def _trip(exc: Exception) -> None:
    global _breaker_open_until
    _breaker_open_until = time.monotonic() + BREAKER_SECONDS
    log.warning("Redis unavailable, serving from the database for %ss: %s", BREAKER_SECONDS, exc)


def reset_breaker() -> None:
    global _breaker_open_until
    _breaker_open_until = 0.0


def _call(fn, default=None):
    try:
        return fn(_client())
    except _RedisDown:
        return default
    except Exception as exc:  # noqa: BLE001 - any Redis failure degrades to the database
        _trip(exc)
        return default


def _version_key(org_id: int) -> str:
    return f"dash:ver:{org_id}"


def data_version(org_id: int) -> int | None:
    """The organisation's data version, or None when Redis is unreachable."""

    def get(client):
        raw = client.get(_version_key(org_id))
        if raw is None:
            client.set(_version_key(org_id), 1, nx=True)
            raw = client.get(_version_key(org_id))
        return int(raw)

    return _call(get)


def bump_data_version(org_id: int) -> int | None:
    """Invalidate every cached value of an organisation by moving its version on."""
    return _call(lambda client: int(client.incr(_version_key(org_id))))


def make_key(org_id: int, widget: str, state) -> str | None:
    version = data_version(org_id)
    if version is None:
        return None
    return f"dash:{SCHEMA_VERSION}:{org_id}:{version}:{widget}:{state.cache_token()}:{state.compare_token()}"


def _record(hit: bool) -> None:
    _call(lambda client: client.hincrby(_STATS_KEY, "hits" if hit else "misses", 1))


def cache_stats() -> dict:
    raw = _call(lambda client: client.hgetall(_STATS_KEY), default={}) or {}
    hits = int(raw.get(b"hits", 0))
    misses = int(raw.get(b"misses", 0))
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_rate": round(hits / total, 4) if total else None}


def reset_stats() -> None:
    _call(lambda client: client.delete(_STATS_KEY))


def peek(key: str | None):
    """The cached value for a key, or None; never computes."""
    if key is None:
        return None
    raw = _call(lambda client: client.get(key))
    return pickle.loads(raw) if raw is not None else None  # noqa: S301 - our own Redis, our own values


def get_or_compute(
    key: str | None, compute, *, organization_id: int | None = None, ttl: int = TTL_SECONDS
):
    """Return the cached value for `key`, computing it at most once at a time across workers."""
    if key is None:  # Redis is down: straight to the database
        return compute()
    raw = _call(lambda client: client.get(key))
    if raw is not None:
        _record(True)
        return pickle.loads(raw)  # noqa: S301
    _record(False)
    lock_key = f"{key}:lock"
    got_lock = _call(lambda client: client.set(lock_key, b"1", nx=True, ex=LOCK_SECONDS))
    if not got_lock and _breaker_open_until <= time.monotonic():
        deadline = time.monotonic() + WAIT_FOR_LOCK_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.02)
            raw = _call(lambda client: client.get(key))
            if raw is not None:
                return pickle.loads(raw)  # noqa: S301
            if not _call(lambda client: client.exists(lock_key)):
                break
    try:
        value = compute()
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        _call(lambda client: client.set(key, payload, ex=ttl))
        return value
    finally:
        if got_lock:
            _call(lambda client: client.delete(lock_key))
