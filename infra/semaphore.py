"""Counting semaphores shared by every process: at most N holders of a name at once.

Each name is a Redis sorted set of holders scored by when they took their slot; a holder's
slot expires after `lease` seconds (so a process that dies frees its slots), and taking slots
under several names (a user's and their organisation's) is one atomic Lua script: all or none.
Redis is reached through the cache's client, so its breaker (infra/breaker.py) applies.

Tricky: with Redis down or stalled, the count falls back to this process alone (a bounded
`threading` count with the same limits): open, but bounded by processes × limit, rather than
refusing every export or waiting on Redis (docs/architecture.md, "Exports bounded by cost").
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("renoz.semaphore")

_TAKE = """
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local token = ARGV[3]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - lease)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, token)
  redis.call('EXPIRE', key, math.ceil(lease) + 1)
end
return 1
"""

_local_lock = threading.Lock()
_local_held: Counter[str] = Counter()


@dataclass
class Lease:
    """Slots held under `names` until `release()` (idempotent)."""

    names: list[str]
    token: str
    local: bool
    released: bool = field(default=False)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.local:
            with _local_lock:
                _local_held.subtract(self.names)
            return
        try:
            client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
            pipe = client.pipeline()
            for name in self.names:
                pipe.zrem(name, self.token)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the lease expires on its own
            log.warning("could not release %s: %s", self.names, exc)


def _key(name: str) -> str:
    return f"renoz:{settings.DEPLOYMENT_NAMESPACE}:sem:{name}"


def acquire(limits: dict[str, int], lease: float) -> Lease | None:
    """A slot under every name in `limits` ({name: at most}), or None if any is full."""
    names = [_key(name) for name in limits]
    token = uuid.uuid4().hex
    try:
        client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
        taken = client.eval(_TAKE, len(names), *names, time.time(), lease, token, *limits.values())
    except Exception as exc:  # noqa: BLE001 - Redis away: count in this process
        log.warning("semaphore on this process only: %s", exc)
        with _local_lock:
            if any(
                _local_held[n] >= limit for n, limit in zip(names, limits.values(), strict=True)
            ):
                return None
            _local_held.update(names)
        return Lease(names, token, local=True)
    return Lease(names, token, local=False) if taken else None
