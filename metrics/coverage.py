"""Which local days each daily summary may answer for an organisation: its watermark (the
local day of its last refresh) less the days a write has touched since (DirtyDay markers).
docs/architecture.md, "Read path", explains how the engine uses it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections

from metrics import cache as metric_cache
from metrics.definitions import GRAINS
from metrics.periods import local_date

MAX_DIRTY_SPANS = 12  # more spans than this are merged into one live stretch


@dataclass(frozen=True)
class SummaryCoverage:
    """Which local days a table may answer for one organisation."""

    watermark_day: dt.date | None  # summary rows are complete for days before this
    excluded: tuple[tuple[dt.date, dt.date], ...]  # dirty spans [lo, hi) to read live

    def view_days(self, lo: dt.date | None, hi: dt.date) -> list[tuple[dt.date | None, dt.date]]:
        """The sub-ranges [lo, hi) of days the summary answers (lo None means since ever)."""
        if self.watermark_day is None:
            return []
        hi = min(hi, self.watermark_day)
        if lo is not None and lo >= hi:
            return []
        spans: list[tuple[dt.date | None, dt.date]] = []
        cursor = lo
        for ex_lo, ex_hi in self.excluded:
            if ex_hi <= (cursor or dt.date.min) or ex_lo >= hi:
                continue
            if cursor is None or ex_lo > cursor:
                spans.append((cursor, min(ex_lo, hi)))
            cursor = max(cursor or dt.date.min, ex_hi)
            if cursor >= hi:
                break
        if cursor is None or cursor < hi:
            spans.append((cursor, hi))
        return [s for s in spans if s[0] is None or s[0] < s[1]]


def merge_ranges(ranges) -> list[tuple[dt.date, dt.date]]:
    """[lo, hi) ranges merged where they overlap or touch, in order."""
    merged: list[list[dt.date]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(a, b) for a, b in merged]


def day_spans(days) -> list[tuple[dt.date, dt.date]]:
    """Local days as [lo, hi) spans of consecutive days."""
    return merge_ranges((day, day + dt.timedelta(days=1)) for day in set(days))


def _merge_days(days: list[dt.date]) -> tuple[tuple[dt.date, dt.date], ...]:
    spans = day_spans(days)
    if len(spans) > MAX_DIRTY_SPANS:
        spans = [(spans[0][0], spans[-1][1])]
    return tuple(spans)


def load_coverage(
    org_id: int, tz: zoneinfo.ZoneInfo, using: str = DEFAULT_DB_ALIAS
) -> dict[str, SummaryCoverage]:
    """Watermarks and dirty days for every daily summary, in one query."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT summary, refreshed_at, NULL::date FROM dashboard_viewrefresh
            UNION ALL
            SELECT DISTINCT summary, NULL::timestamptz, day FROM dashboard_dirtyday
             WHERE organization_id = %(org)s
            """,
            {"org": org_id},
        )
        rows = cursor.fetchall()
    watermarks: dict[str, dt.date] = {}
    dirty: dict[str, list[dt.date]] = defaultdict(list)
    for table, refreshed_at, day in rows:
        if refreshed_at is not None:
            watermarks[table] = local_date(refreshed_at, tz)
        else:
            dirty[table].append(day)
    return {
        s.summary: SummaryCoverage(watermarks.get(s.summary), _merge_days(dirty.get(s.summary, [])))
        for s in GRAINS
    }


class LazyCoverage:
    """load_coverage on first use: a read whose closed days all come from the cache never
    asks for it."""

    def __init__(self, org_id: int, tz: zoneinfo.ZoneInfo, using: str = DEFAULT_DB_ALIAS):
        self.org_id, self.tz, self.using = org_id, tz, using
        self._loaded: dict[str, SummaryCoverage] | None = None

    def get(self, table: str) -> SummaryCoverage | None:
        if self._loaded is None:
            memo = metric_cache.computation_memo()
            key = ("coverage", self.org_id, self.using, str(self.tz))
            if memo is not None and key in memo:
                self._loaded = memo[key]
            else:
                self._loaded = load_coverage(self.org_id, self.tz, self.using)
                if memo is not None:
                    memo[key] = self._loaded
        return self._loaded.get(table)
