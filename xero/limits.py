"""Xero's limits per organisation: 60 calls a minute and 5 at once (docs/xero.md, "Limits").

Calls are counted per organisation and minute in the shared cache (Redis), so every worker and
command counts against the same budget; a call past the budget waits for the next minute. A
sync runs one call at a time, and one sync per organisation at a time (xero/sync.py takes an
advisory lock), so at most one of the five concurrent calls is ours. Xero's own remaining-calls
headers win: when `X-MinLimit-Remaining` says 0 the next call waits for the minute to turn.
With Redis down the counter is skipped and Xero's headers and 429s are the guard.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 120.0  # seconds; Xero's minute limit asks for less than 60


def _key(org_id: int, minute: int) -> str:
    return f"xero:calls:{org_id}:{minute}"


def _until_next_minute() -> float:
    return 60.0 - (time.time() % 60.0) + 0.05


def acquire(org_id: int, sleep: Callable[[float], None]) -> None:
    """Wait, if need be, until this organisation may make one more call this minute."""
    while True:
        minute = int(time.time() // 60)
        try:
            if cache.get(f"xero:exhausted:{org_id}") == minute:
                sleep(_until_next_minute())
                continue
            cache.add(_key(org_id, minute), 0, timeout=120)
            used = cache.incr(_key(org_id, minute))
        except Exception:  # Redis down: Xero's headers and 429s still hold us back
            log.warning("xero call counter unavailable", exc_info=True)
            return
        if used <= settings.XERO_CALLS_PER_MINUTE:
            return
        sleep(_until_next_minute())


def note_remaining(org_id: int, headers: dict) -> None:
    """Remember that Xero said no calls remain this minute."""
    remaining = _header(headers, "X-MinLimit-Remaining")
    if remaining is not None and remaining.strip() == "0":
        try:
            cache.set(f"xero:exhausted:{org_id}", int(time.time() // 60), timeout=120)
        except Exception:
            log.warning("xero call counter unavailable", exc_info=True)


def retry_after(headers: dict) -> float:
    """Seconds a 429 asks us to wait (Retry-After), bounded."""
    raw = _header(headers, "Retry-After")
    try:
        seconds = float(raw) if raw is not None else 60.0
    except ValueError:
        seconds = 60.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
