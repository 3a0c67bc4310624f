"""Date ranges and comparisons, read from and written to the URL.

Every boundary is a local date in the organisation's timezone. A range is inclusive
(`start`..`end`); its instants run from local midnight of `start` to the end instant, which is
the next local midnight after `end`, or now, whichever is earlier. A range that is still
running is `to_date`, and its comparison covers the same elapsed span.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlencode

from django.utils import timezone

PRESETS: dict[str, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
    # A whole Monday-to-Sunday week and a whole calendar month, for weekly and monthly reports.
    "last_week": "Last week",
    "this_month": "This month",
    "last_month": "Last full month",
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "this_financial_year": "This financial year",
    "last_financial_year": "Last financial year",
}
COMPARISONS: dict[str, str] = {
    "none": "No comparison",
    "previous_period": "Previous period",
    "previous_year": "Previous year",
}


def comparison_name(compare: str) -> str | None:
    """How a comparison reads inside a sentence ("vs previous period"); None for none. Every
    screen, mail, PDF and insight words a comparison with this (docs/architecture.md, section
    "Presentation vocabulary")."""
    return None if compare == "none" else COMPARISONS[compare].lower()


def compare_phrase(compare: str) -> str:
    """A comparison as the object of a sentence: "the previous period", "the previous year",
    or "nothing"."""
    name = comparison_name(compare)
    return f"the {name}" if name else "nothing"


DEFAULT_PRESET = "this_month"
DEFAULT_COMPARE = "previous_period"
MAX_RANGE_DAYS = 3653  # ten years
# The one span of dates anyone may ask about: dashboard ranges, report previews, personal days
# and target periods (targets.models keeps its periods inside it with a check constraint).
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)
BOUNDS_TEXT = f"between {EARLIEST_DAY.year} and {LATEST_DAY.year}"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CALENDAR_UNITS = {
    "last_week": "week",
    "this_month": "month",
    "last_month": "month",
    "this_quarter": "quarter",
    "last_quarter": "quarter",
    "this_financial_year": "fiscal_year",
    "last_financial_year": "fiscal_year",
}


class InvalidPeriod(ValueError):
    """Bad period input; the message says what is wrong and what is accepted."""


def local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant a local day starts (safe across daylight saving: midnight always exists in AU)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def local_date(instant: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    return instant.astimezone(tz).date()


def shift_year(day: dt.date, years: int = -1) -> dt.date:
    """The same date `years` years away; 29 Feb maps to 28 Feb."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    """First-of-month arithmetic: `day` must be the 1st."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def fiscal_year_start(day: dt.date, start_month: int = 7) -> dt.date:
    year = day.year if day.month >= start_month else day.year - 1
    return dt.date(year, start_month, 1)


def unit_bounds(unit: str, day: dt.date, fiscal_start_month: int = 7) -> tuple[dt.date, dt.date]:
    """The calendar unit (week, month, quarter, fiscal_year) containing `day`, as inclusive
    dates. A week runs Monday to Sunday, the organisation's local days."""
    if unit == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if unit == "month":
        start, months = month_start(day), 1
    elif unit == "quarter":
        start, months = quarter_start(day), 3
    elif unit == "fiscal_year":
        start, months = fiscal_year_start(day, fiscal_start_month), 12
    else:
        raise ValueError(unit)
    return start, add_months(start, months) - dt.timedelta(days=1)


def dates_label(first: dt.date, last: dt.date) -> str:
    """How a span of local dates reads everywhere: '6 Jul 2026', '1 – 30 Sep 2026',
    '1 Jul – 30 Sep 2026' or '1 Dec 2025 – 31 Jan 2026'."""
    if first == last:
        return f"{first:%-d %b %Y}"
    if first.year != last.year:
        return f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    if first.month != last.month:
        return f"{first:%-d %b} – {last:%-d %b %Y}"
    return f"{first:%-d} – {last:%-d %b %Y}"


def range_label(state: DashboardState) -> str:
    """How a state's range reads everywhere: its dates, a running range's up to its last day
    so far ("1 – 5 Dec 2026")."""
    return dates_label(
        state.range.start, state.range.last_day if state.to_date else state.range.end
    )


def comparison_label(state: DashboardState) -> str | None:
    """The comparison's dates ("1 – 5 Nov 2026"), or None without one."""
    if not state.comparison:
        return None
    return dates_label(state.comparison.start, state.comparison.end)


def fiscal_year_label(start: dt.date) -> str:
    """Australian style: the FY ending June 2027 is 'FY2027'."""
    return f"FY{start.year + 1}" if start.month > 1 else f"FY{start.year}"


@dataclass(frozen=True)
class Window:
    """Inclusive local dates and the exact instants they cover."""

    start: dt.date
    end: dt.date
    start_at: dt.datetime
    end_at: dt.datetime  # exclusive; earlier than the next midnight after `end` while running

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def last_day(self) -> dt.date:
        """The last local day with any data in the window (the running day while to date)."""
        tz = self.start_at.tzinfo
        last = (self.end_at - dt.timedelta(microseconds=1)).astimezone(tz).date()
        return min(max(last, self.start), self.end)


@dataclass(frozen=True)
class DashboardState:
    """What the URL says: the range, its comparison, and the org's clock."""

    preset: str | None
    range: Window
    to_date: bool
    compare: str
    comparison: Window | None
    tz: zoneinfo.ZoneInfo = field(repr=False)
    now: dt.datetime = field(repr=False)
    # Dashboard filters, validated (metrics.filters): (param, value) pairs, kept in every link.
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        if self.preset:
            return PRESETS[self.preset]
        return dates_label(self.range.start, self.range.end)

    def params(self) -> dict[str, str]:
        """Query parameters that reproduce this state exactly."""
        if self.preset:
            out = {"range": self.preset}
        else:
            out = {"from": self.range.start.isoformat(), "to": self.range.end.isoformat()}
        out["compare"] = self.compare
        out.update(self.filters)
        return out

    def querystring(self, **extra: str) -> str:
        if not extra:
            return self._querystring
        return urlencode({**self.params(), **extra})

    @cached_property
    def _querystring(self) -> str:
        # A state is frozen: a page asks its query string for every widget (issue 25).
        return urlencode(self.params())

    def cache_token(self) -> str:
        """A stable key part: the resolved dates, never the wall clock.

        A running range's value moves with time; the cache TTL bounds how stale it can be.
        """
        return f"{self.range.start}_{self.range.end}"

    def compare_token(self) -> str:
        if not self.comparison:
            return "none"
        return f"{self.compare}:{self.comparison.start}_{self.comparison.end}"


def in_bounds(day: dt.date) -> bool:
    """Whether `day` is one anyone may ask about (EARLIEST_DAY to LATEST_DAY)."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def _parse_date(raw: str, name: str) -> dt.date:
    if not _DATE_RE.match(raw or ""):
        raise InvalidPeriod(f"'{name}' must be a date as YYYY-MM-DD, got {raw[:40]!r}")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidPeriod(f"'{name}' is not a real date: {raw!r}") from None


def preset_dates(
    preset: str, today: dt.date, fiscal_start_month: int = 7
) -> tuple[dt.date, dt.date]:
    """Inclusive local dates of a preset, on the given local `today`."""
    one = dt.timedelta(days=1)
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - one, today - one
    if preset.startswith("last_") and preset.endswith("_days"):
        n = int(preset[5:-5])
        return today - dt.timedelta(days=n - 1), today
    unit = _CALENDAR_UNITS.get(preset)
    if unit is None:
        raise InvalidPeriod(
            f"Unknown range {preset!r}. Accepted: {', '.join(PRESETS)}, or from/to dates"
        )
    start, end = unit_bounds(unit, today, fiscal_start_month)
    if preset.startswith("last_"):
        start, end = unit_bounds(unit, start - one, fiscal_start_month)
    return start, end


def make_window(start: dt.date, end: dt.date, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> Window:
    start_at = local_midnight(start, tz)
    end_at = min(local_midnight(end + dt.timedelta(days=1), tz), max(now, start_at))
    return Window(start, end, start_at, end_at)


def _comparison(
    preset: str | None,
    rng: Window,
    compare: str,
    tz: zoneinfo.ZoneInfo,
    to_date: bool,
    fiscal_start_month: int,
) -> Window | None:
    if compare == "none":
        return None
    unit = _CALENDAR_UNITS.get(preset or "")
    if compare == "previous_year":
        start, end = shift_year(rng.start), shift_year(rng.end)
    elif unit:
        start, end = unit_bounds(unit, rng.start - dt.timedelta(days=1), fiscal_start_month)
    else:
        end = rng.start - dt.timedelta(days=1)
        start = end - dt.timedelta(days=rng.days - 1)
    full_end_at = local_midnight(end + dt.timedelta(days=1), tz)
    start_at = local_midnight(start, tz)
    if not to_date:
        return Window(start, end, start_at, full_end_at)
    # Same elapsed span, measured in local wall-clock time so DST does not shift it.
    elapsed = rng.end_at.astimezone(tz).replace(tzinfo=None) - dt.datetime.combine(
        rng.start, dt.time.min
    )
    cut = (dt.datetime.combine(start, dt.time.min) + elapsed).replace(tzinfo=tz)
    end_at = min(cut, full_end_at)
    cut_day = (end_at - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return Window(start, max(start, min(end, cut_day)), start_at, end_at)


def parse_state(params, organization, now: dt.datetime | None = None) -> DashboardState:
    """Read range and comparison from query parameters; raise InvalidPeriod with a clear message."""
    tz = zoneinfo.ZoneInfo(organization.timezone)
    now = now or timezone.now()
    today = now.astimezone(tz).date()
    fiscal = organization.fiscal_year_start_month
    raw_from, raw_to = params.get("from"), params.get("to")
    preset = params.get("range")
    compare = params.get("compare") or DEFAULT_COMPARE
    if compare not in COMPARISONS:
        raise InvalidPeriod(f"Unknown compare {compare[:40]!r}. Accepted: {', '.join(COMPARISONS)}")
    if raw_from or raw_to:
        if preset:
            raise InvalidPeriod("Give either 'range' or 'from'/'to', not both")
        if not (raw_from and raw_to):
            raise InvalidPeriod("Custom ranges need both 'from' and 'to' as YYYY-MM-DD")
        start, end = _parse_date(raw_from, "from"), _parse_date(raw_to, "to")
        if start > end:
            raise InvalidPeriod(f"'from' ({start}) is after 'to' ({end}); swap them")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidPeriod("The range is longer than 10 years; choose a shorter range")
        if not (in_bounds(start) and in_bounds(end)):
            raise InvalidPeriod(f"Dates must fall {BOUNDS_TEXT}")
        preset = None
    else:
        preset = preset or DEFAULT_PRESET
        if preset not in PRESETS:
            raise InvalidPeriod(
                f"Unknown range {preset[:40]!r}. Accepted: {', '.join(PRESETS)}, or from/to dates"
            )
        start, end = preset_dates(preset, today, fiscal)
    rng = make_window(start, end, tz, now)
    to_date = rng.end_at < local_midnight(end + dt.timedelta(days=1), tz) and rng.start_at <= now
    comparison = _comparison(preset, rng, compare, tz, to_date, fiscal)
    return DashboardState(preset, rng, to_date, compare, comparison, tz, now)
