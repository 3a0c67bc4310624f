"""How moments and changes read on every screen and delivery: a moment as
"Sat 5 Dec 2026, 10:34 pm" (never "p.m."), a change as "up 20.6%" or "down 3.1%".

Ranges, comparisons and date spans ("1 – 30 Sep 2026", "previous period") are worded in
metrics.periods, because the insights below this layer word with them too. See
docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

import datetime as dt

DIRECTIONS = {"up": "up", "down": "down", "flat": "unchanged"}


def clock(instant: dt.datetime | dt.time, tz=None, *, zone: bool = False) -> str:
    """The time of day in `tz`: "10:34 pm" (never Django's "p.m."), with `zone` "10:34 pm AEDT".
    A bare time of day (a report's send time) reads as it is."""
    local = instant.astimezone(tz) if isinstance(instant, dt.datetime) else instant
    text = f"{local:%-I:%M} {'am' if local.hour < 12 else 'pm'}"
    return f"{text} {local:%Z}" if zone else text


def exact_time(
    instant: dt.datetime, tz, *, weekday: bool = True, year: bool = True, zone: bool = False
) -> str:
    """A moment in the organisation's timezone: "Sat 5 Dec 2026, 10:34 pm" (`zone`: "… AEDT")."""
    local = instant.astimezone(tz)
    day = f"{local:%a }" if weekday else ""
    day += f"{local:%-d %b %Y}" if year else f"{local:%-d %b}"
    return f"{day}, {clock(local, tz, zone=zone)}"


def direction(trend: str | None) -> str:
    """How a change's direction reads: "up", "down" or "unchanged" ("" when unknown)."""
    return DIRECTIONS.get(trend or "", "")


def time_ago(instant: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - instant).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return "yesterday" if days == 1 else f"{days} days ago"
