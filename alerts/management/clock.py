"""`--at`, the clock the alert and digest commands run at (tests and replays)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError


def parse_at(raw: str | None) -> dt.datetime | None:
    """An aware datetime from `--at`, or None (now) when not given."""
    if not raw:
        return None
    try:
        at = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError("--at must be an ISO date-time") from None
    if at.tzinfo is None:
        raise CommandError("--at needs a timezone, e.g. 2026-07-01T09:00:00+10:00")
    return at
