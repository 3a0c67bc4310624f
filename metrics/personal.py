"""Personal numbers: the metric layer's owner slice, day by day, for one person.

Days before the organisation's local today come from UserStatisticsDaily, the nightly cache of
the owner slice (metrics.statistics); a day the table does not hold yet is read live through
the same definitions, and today is always read live, so the screen is never a day behind.
State metrics (an owner's open pipeline, their active installations) are read at the end of
each day from the owner's cumulative opened-minus-closed sums. Range metrics add up over days;
ratios are ratios of those sums.

`personal_summary` answers GET /api/dashboard/me (a day against the day before, the same
weekday last week and the same day last month); `personal_numbers` feeds the personal
dashboard's cards (a period: that day, the last 7 days or month to date, against the previous
span, with a 30-day sparkline). Both are cached per organisation data version.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from metrics import cache as metric_cache
from metrics.definitions import METRICS, RATIO_PARTS, SOURCES, get_metric, owned_metrics
from metrics.engine import Slice, TimeWindow, read
from metrics.formatting import round_half_up
from metrics.models import UserStatisticsDaily
from metrics.periods import BOUNDS_TEXT, in_bounds, local_midnight, parse_state
from metrics.queries import compare_entry, compute_values, daily_values_by_owner
from metrics.statistics import COLUMNS

PERIODS = {"day": "Day", "7d": "Last 7 days", "mtd": "Month to date"}
SPARK_DAYS = 30
# Everything a person owns (metrics.definitions.owned_metrics): range metrics from the
# statistics' COLUMNS, ratios formed from the sums of those, state metrics read at the end of
# each day.
PERSONAL_KEYS = owned_metrics()
RATIOS = {key: RATIO_PARTS[key] for key in owned_metrics("ratio")}
STATES = owned_metrics("state")


class InvalidPersonalQuery(ValueError):
    """Bad input; the message says what is wrong and what is accepted."""


def last_month_day(day: dt.date) -> dt.date:
    """The same day last month, clamped at month ends (31 Mar -> 28/29 Feb)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def comparison_days(day: dt.date) -> dict[str, dt.date]:
    return {
        "yesterday": day - dt.timedelta(days=1),
        "last_week": day - dt.timedelta(days=7),
        "last_month": last_month_day(day),
    }


def _number(key: str, raw):
    """Stored and live values in the units the metric layer gives them."""
    unit = METRICS[key].unit
    if raw is None:
        return 0
    if unit in ("kwh", "hours"):
        return float(round_half_up(raw, 2))
    return int(raw)


def day_values(organization, owner: int, first: dt.date, last: dt.date, *, now) -> dict:
    """{local day: {range metric: value}} for the owner, each day in [first, last]."""
    tz = organization.tz
    today = now.astimezone(tz).date()
    keys = list(COLUMNS)
    out: dict[dt.date, dict] = {}
    stored_last = min(last, today - dt.timedelta(days=1))
    if first <= stored_last:
        rows = UserStatisticsDaily.objects.filter(
            organization_id=organization.pk, user_id=owner, date__range=(first, stored_last)
        ).values_list("date", *COLUMNS.values())
        for row in rows:
            out[row[0]] = {k: _number(k, v) for k, v in zip(keys, row[1:], strict=True)}
        missing = [
            first + dt.timedelta(days=n)
            for n in range((stored_last - first).days + 1)
            if first + dt.timedelta(days=n) not in out
        ]
        if missing:
            # Tricky: a day the nightly job has not reached is read live, from the same
            # definitions, so a missing row never reads as zero.
            live = daily_values_by_owner(organization, keys, min(missing), max(missing))
            for day in missing:
                values = live.get((owner, day), {})
                out[day] = {k: _number(k, values.get(k)) for k in keys}
    if first <= today <= last:
        state = parse_state({"range": "today", "compare": "none"}, organization, now=now)
        values = compute_values(organization, state, keys, where=Slice.of(owner=owner))
        out[today] = {k: _number(k, v) for k, (v, _p) in values.items()}
    return out


def state_values(organization, owner: int, keys: Iterable[str], days: Iterable[dt.date], *, now):
    """{day: {state metric: value at the end of that local day (now for today)}}: one read of
    the owner's daily opened/closed sums per source, accumulated in date order."""
    tz = organization.tz
    wanted = sorted(set(days))
    if not wanted:
        return {}
    end = min(local_midnight(wanted[-1] + dt.timedelta(days=1), tz), now)
    out: dict[dt.date, dict] = {day: {} for day in wanted}
    by_source: dict[str, list] = {}
    for key in keys:
        by_source.setdefault(get_metric(key).source, []).append(get_metric(key))
    start = local_midnight(wanted[0], tz)
    for source_name, metrics in by_source.items():
        source = SOURCES[source_name]
        where = Slice.of(owner=owner)
        # Tricky: everything before the first wanted day is one total (no per-row day
        # arithmetic over the owner's whole history); only the recent days are read daily.
        running = read(organization.pk, tz, source, [TimeWindow(None, start)], where=where)
        recent = read(
            organization.pk, tz, source, [TimeWindow(start, end)], daily=True, where=where
        )
        per_day = recent.group(0, lambda key: key[0])
        history = sorted(per_day)
        i = 0
        for day in wanted:
            while i < len(history) and history[i] <= day:
                running.absorb(per_day[history[i]])
                i += 1
            for metric in metrics:
                out[day][metric.key] = metric.value(
                    lambda measure, _frame=running, **dims: _frame.total(0, measure, **dims)
                )
    return out


def _sum(days: dict, span: Iterable[dt.date], key: str):
    if key in RATIOS:
        parts, formula = RATIOS[key]
        value = formula(*(sum(days[d][part] for d in span) for part in parts))
        if value is None or METRICS[key].unit != "ratio":
            return value
        return round(value, 4)
    total = sum((Decimal(str(days[d][key])) for d in span), Decimal(0))
    return _number(key, total)


def _span(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass(frozen=True)
class _Key:
    """What a personal cache key varies with (metrics.cache.make_key reads these two)."""

    day: dt.date
    name: str

    def cache_token(self) -> str:
        return f"{self.day}"

    def compare_token(self) -> str:
        return self.name


def _cached(organization, owner: int, day: dt.date, name: str, keys, compute):
    parts = {METRICS[k].source for k in keys}
    key = metric_cache.make_key(
        organization.pk, f"me:{name}:{','.join(keys)}", _Key(day, name), parts, f"o{owner}"
    )
    return metric_cache.get_or_compute(key, compute)


def parse_day(raw: str | None, organization, *, now) -> dt.date:
    """A local date as YYYY-MM-DD (default: the organisation's today); not in the future."""
    today = now.astimezone(organization.tz).date()
    if not raw:
        return today
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidPersonalQuery(
            f"'date' must be a date as YYYY-MM-DD, got {raw[:40]!r}"
        ) from None
    if len(raw) != 10:
        raise InvalidPersonalQuery(f"'date' must be a date as YYYY-MM-DD, got {raw[:40]!r}")
    if day > today:
        raise InvalidPersonalQuery(f"'date' {day} is in the future; the latest is {today}")
    if not in_bounds(day):
        raise InvalidPersonalQuery(f"'date' must fall {BOUNDS_TEXT}")
    return day


def personal_summary(organization, owner: int, day: dt.date, *, now, keys=None) -> dict:
    """{metric: {value, yesterday, last_week, last_month, change_pct, trend}} for one local
    day of the owner's numbers (today: so far); change and trend are against the day before."""
    keys = list(keys or PERSONAL_KEYS)

    def compute():
        others = comparison_days(day)
        first = min(others.values())
        days = day_values(organization, owner, first, day, now=now)
        states = state_values(
            organization, owner, [k for k in keys if k in STATES], [day, *others.values()], now=now
        )
        out = {}
        for key in keys:

            def value_on(d: dt.date, key=key):
                return states[d][key] if key in STATES else _sum(days, [d], key)

            entry = {"value": value_on(day)}
            entry.update({name: value_on(d) for name, d in others.items()})
            compared = compare_entry(METRICS[key], entry["value"], entry["yesterday"])
            entry["change_pct"] = compared["change_pct"]
            entry["trend"] = compared["trend"]
            out[key] = entry
        return out

    return _cached(organization, owner, day, "summary", keys, compute)


def period_spans(day: dt.date, period: str) -> tuple[tuple[dt.date, dt.date], ...]:
    """The current span ending on `day` and the spans it is compared with."""
    if period == "day":
        return ((day, day), *((d, d) for d in comparison_days(day).values()))
    if period == "7d":
        return (day - dt.timedelta(days=6), day), (
            day - dt.timedelta(days=13),
            day - dt.timedelta(days=7),
        )
    if period == "mtd":
        start = day.replace(day=1)
        previous_start = last_month_day(start)
        previous_end = min(
            previous_start + dt.timedelta(days=day.day - 1),
            start - dt.timedelta(days=1),
        )
        return (start, day), (previous_start, previous_end)
    raise InvalidPersonalQuery(f"Unknown period {period[:20]!r}. Accepted: {', '.join(PERIODS)}")


def personal_numbers(organization, owner: int, day: dt.date, period: str, keys, *, now) -> dict:
    """For the personal dashboard's cards: {metric: {"value", "comparisons": [{"first",
    "last", "previous", "change", "change_pct", "trend", "good"}], "spark": [30 daily values]}}."""
    keys = list(keys)
    spans = period_spans(day, period)

    def compute():
        spark_first = day - dt.timedelta(days=SPARK_DAYS - 1)
        first = min(spark_first, *(lo for lo, _ in spans))
        days = day_values(organization, owner, first, day, now=now)
        state_keys = [k for k in keys if k in STATES]
        state_days = {hi for _, hi in spans} | set(_span(spark_first, day))
        states = state_values(organization, owner, state_keys, state_days, now=now)
        out = {}
        for key in keys:

            def value_of(lo: dt.date, hi: dt.date, key=key):
                if key in STATES:
                    return states[hi][key]
                return _sum(days, _span(lo, hi), key)

            current = value_of(*spans[0])
            comparisons = []
            for lo, hi in spans[1:]:
                previous = value_of(lo, hi)
                compared = compare_entry(METRICS[key], current, previous)
                comparisons.append({"first": lo, "last": hi, **compared})
            spark = [value_of(d, d) for d in _span(spark_first, day)]
            out[key] = {"value": current, "comparisons": comparisons, "spark": spark}
        return out

    return _cached(organization, owner, day, f"numbers:{period}", keys, compute)
