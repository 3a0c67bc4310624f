"""All metric caching lives here.

Keys: dash:<deployment>:<schema>:<org>:<data version>:<widget>:<range>:<compare>[:<slice>].
The deployment namespace (settings.DEPLOYMENT_NAMESPACE, by default derived from the database)
keeps two installs sharing one Redis apart. A refresh or a data
change bumps the organisation's version, so stale keys are never read again (they expire by
TTL). One recompute per key at a time, through a short lock. When Redis is unreachable the
reader computes from the database; a breaker then skips Redis for a few seconds so no request
pays more than one socket timeout.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time

from django.conf import settings
from django.core.cache import cache

from metrics.definitions import SOURCES
from renoz.env import deployment_namespace

log = logging.getLogger("renoz.cache")

SCHEMA_VERSION = 2
TTL_SECONDS = 300
LOCK_SECONDS = 15
WAIT_FOR_LOCK_SECONDS = 2.0
BREAKER_SECONDS = 5.0
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


# Tricky: versions are per organisation *and* per data source, so a logged call (activities)
# does not drop the cached revenue. A key carries the organisation's epoch (bumped when
# everything must go) and the version of each source it was computed from.
PARTS = (*SOURCES, "targets")


def namespace() -> str:
    """This deployment's key prefix: the configured namespace, or one derived from the database
    it reads, so two installs sharing a Redis never read each other's values."""
    configured = getattr(settings, "DEPLOYMENT_NAMESPACE", "")
    return f"dash:{configured or deployment_namespace(settings.DATABASES['default'])}"


def _version_key(org_id: int, part: str | None = None) -> str:
    return f"{namespace()}:ver:{org_id}" + (f":{part}" if part else "")


def data_version(org_id: int, parts=None) -> str | None:
    """The version token of an organisation's data (the given parts, or all), or None when Redis
    is unreachable."""
    parts = sorted(set(parts)) if parts else list(PARTS)
    raw = _call(
        lambda client: client.mget(
            [_version_key(org_id), *(_version_key(org_id, p) for p in parts)]
        )
    )
    if raw is None:
        return None
    epoch, *versions = (int(v) if v is not None else 0 for v in raw)
    return f"{epoch}." + ".".join(f"{p[:2]}{v}" for p, v in zip(parts, versions, strict=True))


def bump_data_version(org_id: int, parts=None) -> None:
    """Invalidate an organisation's cached values: those built from `parts`, or all of them."""
    if parts:
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise ValueError(f"Unknown cache parts {sorted(unknown)}; known: {PARTS}")

        def bump(client):
            pipe = client.pipeline(transaction=False)
            for part in set(parts):
                pipe.incr(_version_key(org_id, part))
            pipe.execute()

        _call(bump)
    else:
        _call(lambda client: client.incr(_version_key(org_id)))


def make_key(org_id: int, widget: str, state, parts=None, slice_token: str = "") -> str | None:
    """The cache key of a value for a state, or None when Redis is unreachable.

    `parts` names the data sources the value is computed from; None means all of them.
    `slice_token` names an owner or dimension slice (empty for the whole organisation).
    """
    version = data_version(org_id, parts)
    if version is None:
        return None
    key = (
        f"{namespace()}:{SCHEMA_VERSION}:{org_id}:{version}:{widget}:"
        f"{state.cache_token()}:{state.compare_token()}"
    )
    if slice_token:
        key += ":" + hashlib.sha256(slice_token.encode()).hexdigest()[:16]
    return key


def _stats_key() -> str:
    return f"{namespace()}:stats"


def _record(hit: bool) -> None:
    _call(lambda client: client.hincrby(_stats_key(), "hits" if hit else "misses", 1))


def cache_stats() -> dict:
    raw = _call(lambda client: client.hgetall(_stats_key()), default={}) or {}
    hits = int(raw.get(b"hits", 0))
    misses = int(raw.get(b"misses", 0))
    total = hits + misses
    return {"hits": hits, "misses": misses, "hit_rate": round(hits / total, 4) if total else None}


def reset_stats() -> None:
    _call(lambda client: client.delete(_stats_key()))


def peek(key: str | None):
    """The cached value for a key, or None; never computes."""
    if key is None:
        return None
    raw = _call(lambda client: client.get(key))
    return pickle.loads(raw) if raw is not None else None  # noqa: S301 - our own Redis, our own values


def get_or_compute(key: str | None, compute, *, ttl: int = TTL_SECONDS):
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
