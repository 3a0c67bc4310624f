"""Circuit breakers for the network dependencies a request may touch (docs/architecture.md,
"Stalled dependencies").

A breaker opens on the first failure (a refused connection or a timeout) and stays open for
`seconds`; while open, callers skip the dependency at once instead of each paying its socket
timeout. Breakers are per process: each web or worker process learns for itself.

- `REDIS` guards every client of the cache's Redis: django-redis (the cache, the rate limiter,
  the recompute locks, sessions through infra.contextcache) builds its connections from
  `BreakerConnection`, so a stalled Redis costs one request one short socket timeout, then
  nothing for `seconds`.
- `BROKER` guards the Celery publish (infra.outbox.publish).
"""

from __future__ import annotations

import logging
import time

import redis

log = logging.getLogger("renoz.breaker")


class Breaker:
    """Open for `seconds` after a failure; `allow()` says whether to try the dependency."""

    def __init__(self, name: str, seconds: float = 5.0):
        self.name = name
        self.seconds = seconds
        self.open_until = 0.0

    def allow(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self, exc: BaseException | None = None) -> None:
        if self.allow():
            log.warning("%s unavailable, skipped for %ss: %s", self.name, self.seconds, exc)
        self.open_until = time.monotonic() + self.seconds

    def reset(self) -> None:
        self.open_until = 0.0


REDIS = Breaker("redis")
BROKER = Breaker("broker")


class BreakerOpen(redis.ConnectionError):
    """Raised instead of touching Redis while its breaker is open."""


class BreakerConnection(redis.Connection):
    """A redis-py connection that refuses at once while `REDIS` is open and trips it on a
    refused connection or a socket timeout (set as the cache's pool connection class)."""

    breaker = REDIS

    def _guard(self) -> None:
        if not self.breaker.allow():
            raise BreakerOpen(f"{self.breaker.name} breaker open")

    def connect(self, *args, **kwargs):
        self._guard()
        try:
            return super().connect(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self.breaker.trip(exc)
            raise

    def send_packed_command(self, command, check_health=True):
        self._guard()
        try:
            return super().send_packed_command(command, check_health)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self.breaker.trip(exc)
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self.breaker.trip(exc)
            raise
