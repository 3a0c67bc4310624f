"""When a report is due: its slots, in its own timezone, safe across daylight saving.

A slot is the aware instant a send is due: a local date that matches the cadence, at the
local send time. On the spring-forward day a send time inside the gap (02:30 in Sydney) does
not exist; that slot goes at the next valid minute (03:00). On the autumn day a time that
happens twice (02:30 AEDT, then 02:30 AEST) is one slot, the first one (fold=0).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

UTC = dt.UTC
MAX_LOOKBACK_DAYS = 62  # a monthly slot is always found within two months


def local_instant(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The aware instant of local `day` at `at`; a time in a DST gap moves to the next valid
    minute, a time that repeats is its first occurrence."""
    wall = dt.datetime.combine(day, at.replace(second=0, microsecond=0))
    for minutes in range(0, 24 * 60):
        candidate = (wall + dt.timedelta(minutes=minutes)).replace(tzinfo=tz, fold=0)
        # Tricky: zoneinfo happily builds a wall time inside a gap; a round trip through UTC
        # exposes it, because it comes back as a different wall time.
        back = candidate.astimezone(UTC).astimezone(tz)
        if back.replace(tzinfo=None) == candidate.replace(tzinfo=None):
            return candidate.astimezone(UTC)
    raise ValueError(f"No valid local time on {day} in {tz}")  # pragma: no cover


def matches(day: dt.date, cadence: str, weekday: int | None, month_day: int | None) -> bool:
    if cadence == "daily":
        return True
    if cadence == "weekly":
        return day.weekday() == (weekday if weekday is not None else 0)
    if cadence == "monthly":
        return day.day == (month_day or 1)
    raise ValueError(f"Unknown cadence {cadence!r}")


def _days(report) -> tuple[str, int | None, int | None]:
    return report.cadence, report.weekday, report.month_day


def slots_from(report, after: dt.datetime) -> Iterator[dt.datetime]:
    """Slots strictly after `after`, in order (UTC instants)."""
    tz = report.tz
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    while True:
        if matches(day, *_days(report)):
            slot = local_instant(day, report.send_time, tz)
            if slot > after:
                yield slot
        day += dt.timedelta(days=1)


def next_slots(report, after: dt.datetime, count: int = 3) -> list[dt.datetime]:
    out = []
    for slot in slots_from(report, after):
        out.append(slot)
        if len(out) == count:
            break
    return out


def latest_slot(report, now: dt.datetime) -> dt.datetime | None:
    """The latest slot at or before `now` (None when there is none in the lookback)."""
    tz = report.tz
    day = now.astimezone(tz).date() + dt.timedelta(days=1)
    for _ in range(MAX_LOOKBACK_DAYS):
        if matches(day, *_days(report)):
            slot = local_instant(day, report.send_time, tz)
            if slot <= now:
                return slot
        day -= dt.timedelta(days=1)
    return None


def due_slot(report, now: dt.datetime) -> dt.datetime | None:
    """The slot a tick at `now` should send: the latest one not after now, unless it lies
    before the schedule's anchor. After downtime this is only the latest missed slot."""
    slot = latest_slot(report, now)
    if slot is None:
        return None
    if report.schedule_anchor is not None and slot < report.schedule_anchor:
        return None
    return slot
