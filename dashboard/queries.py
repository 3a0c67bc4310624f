"""Read functions of the metrics engine: metric values, comparisons and time series.

`get_dashboard_metrics` and `get_timeseries` return the JSON contract of DESIGN.md §10
(without targets, which the targets app adds). Results are cached per organisation data
version; `mode="live"` bypasses views and cache as the reference computation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils import timezone

from dashboard import cache as dash_cache
from dashboard.engine import Frame, TimeWindow, load_coverage, read
from dashboard.metrics import METRICS, Metric, get_metric
from dashboard.periods import DashboardState, Window, add_months
from dashboard.sources import SOURCES

INTERVALS = ("day", "week", "month")


def _totals_fn(frame: Frame, idx: int):
    return lambda measure, **dims: frame.total(idx, measure, **dims)


def compute_values(
    organization, state: DashboardState, keys: list[str], *, mode: str = "hybrid"
) -> dict[str, tuple]:
    """{metric: (value, previous)} for the state's range and comparison."""
    tz = state.tz
    coverage = load_coverage(organization.pk, tz) if mode == "hybrid" else None
    metrics = [get_metric(k) for k in keys]
    by_source: dict[str, list[Metric]] = defaultdict(list)
    for metric in metrics:
        by_source[metric.source].append(metric)
    out: dict[str, tuple] = {}
    for source_name, source_metrics in by_source.items():
        windows: list[TimeWindow] = []
        slots: dict[str, tuple[int, int | None]] = {}
        has_range = any(not m.is_state for m in source_metrics)
        has_state = any(m.is_state for m in source_metrics)
        if has_range:
            windows.append(TimeWindow(state.range.start_at, state.range.end_at))
            prev = None
            if state.comparison:
                windows.append(TimeWindow(state.comparison.start_at, state.comparison.end_at))
                prev = len(windows) - 1
            slots["range"] = (0, prev)
        if has_state:
            cur = len(windows)
            windows.append(TimeWindow(None, state.range.end_at))
            prev = None
            if state.comparison:
                windows.append(TimeWindow(None, state.comparison.end_at))
                prev = len(windows) - 1
            slots["state"] = (cur, prev)
        frame = read(
            organization.pk, tz, SOURCES[source_name], windows, mode=mode, coverage=coverage
        )
        for metric in source_metrics:
            cur_idx, prev_idx = slots["state" if metric.is_state else "range"]
            value = metric.compute(_totals_fn(frame, cur_idx))
            previous = metric.compute(_totals_fn(frame, prev_idx)) if prev_idx is not None else None
            out[metric.key] = (value, previous)
    return out


def _compare(metric: Metric, value, previous) -> dict:
    result = {
        "value": value,
        "unit": metric.unit,
        "previous": previous,
        "change": None,
        "change_pct": None,
        "trend": None,
        "good": None,
    }
    if previous is None or value is None:
        return result
    change = value - previous
    if metric.unit == "ratio":
        change = round(change, 4)
    elif isinstance(change, float):
        change = round(change, 2)
    result["change"] = change
    if previous:
        result["change_pct"] = round(
            float(
                (Decimal(str(value)) - Decimal(str(previous))) / abs(Decimal(str(previous))) * 100
            ),
            2,
        )
    result["trend"] = "up" if change > 0 else "down" if change < 0 else "flat"
    if result["trend"] != "flat":
        result["good"] = (result["trend"] == "up") == metric.up_is_good
    return result


def _round_value(metric: Metric, value):
    if value is None:
        return None
    if metric.unit == "ratio":
        return round(value, 4)
    return value


def get_metrics_comparison(
    organization, state: DashboardState, keys: list[str], *, mode: str = "hybrid"
) -> dict:
    """{metric: {value, unit, previous, change, change_pct, trend, good}}."""
    values = compute_values(organization, state, keys, mode=mode)
    return {
        key: _compare(METRICS[key], _round_value(METRICS[key], v), _round_value(METRICS[key], p))
        for key, (v, p) in values.items()
    }


def _envelope(organization, state: DashboardState) -> dict:
    tz = state.tz
    comparison = None
    if state.comparison:
        comparison = {
            "kind": state.compare,
            "from": state.comparison.start.isoformat(),
            "to": state.comparison.end.isoformat(),
        }
    return {
        "organization": organization.name,
        "timezone": str(tz),
        "range": {
            "from": state.range.start.isoformat(),
            "to": state.range.end.isoformat(),
            "to_date": state.to_date,
        },
        "comparison": comparison,
        "as_of": timezone.now().astimezone(tz).isoformat(timespec="seconds"),
    }


def get_dashboard_metrics(
    organization, state: DashboardState, keys: list[str] | None = None, *, use_cache: bool = True
) -> dict:
    """The §10 metrics payload, cached per organisation data version."""
    keys = list(keys or METRICS)

    def compute():
        payload = _envelope(organization, state)
        payload["metrics"] = get_metrics_comparison(organization, state, keys)
        for entry in payload["metrics"].values():
            entry["target"] = None
        return payload

    if not use_cache:
        return compute()
    parts = {METRICS[k].source for k in keys}
    key = dash_cache.make_key(organization.pk, "metrics:" + ",".join(sorted(keys)), state, parts)
    return dash_cache.get_or_compute(key, compute)


# --- Time series ---------------------------------------------------------------------------


def default_interval(state: DashboardState) -> str:
    days = state.range.days
    return "day" if days <= 62 else "week" if days <= 190 else "month"


def buckets(window: Window, interval: str) -> list[tuple[dt.date, dt.date]]:
    """[lo, hi) local-date buckets covering the window's days with data, clipped to the window."""
    out = []
    day = window.start
    last = window.last_day
    while day <= last:
        if interval == "day":
            nxt = day + dt.timedelta(days=1)
        elif interval == "week":
            nxt = day + dt.timedelta(days=7 - day.weekday())
        else:
            nxt = add_months(day.replace(day=1), 1)
        out.append((day, min(nxt, window.end + dt.timedelta(days=1))))
        day = nxt
    return out


def _series(
    metric: Metric, frame: Frame, idx: int, baseline: Frame | None, window: Window, interval: str
):
    values = []
    for lo, hi in buckets(window, interval):
        total: Callable[..., Any]
        if metric.is_state:

            def state_total(measure, _hi=hi, **dims):
                base = baseline.total(idx, measure, **dims) if baseline else 0
                daily = frame.by_day(idx, measure, **dims)
                return base + sum(v for d, v in daily.items() if d < _hi)

            total = state_total
        else:

            def range_total(measure, _lo=lo, _hi=hi, **dims):
                daily = frame.by_day(idx, measure, **dims)
                return sum((v for d, v in daily.items() if _lo <= d < _hi), 0)

            total = range_total

        values.append((lo, _round_value(metric, metric.compute(total))))
    return values


def get_timeseries(
    organization,
    state: DashboardState,
    metric_key: str,
    interval: str | None = None,
    *,
    mode: str = "hybrid",
    use_cache: bool = True,
) -> dict:
    """The §10 timeseries payload: points with value and the aligned comparison value."""
    metric = get_metric(metric_key)
    interval = interval or default_interval(state)
    if interval not in INTERVALS:
        raise ValueError(f"Unknown interval {interval[:20]!r}. Accepted: {', '.join(INTERVALS)}")

    def compute():
        tz = state.tz
        coverage = load_coverage(organization.pk, tz) if mode == "hybrid" else None
        source = SOURCES[metric.source]
        windows = [TimeWindow(state.range.start_at, state.range.end_at)]
        if state.comparison:
            windows.append(TimeWindow(state.comparison.start_at, state.comparison.end_at))
        frame = read(organization.pk, tz, source, windows, daily=True, mode=mode, coverage=coverage)
        baseline = None
        if metric.is_state:
            base_windows = [TimeWindow(None, state.range.start_at)]
            if state.comparison:
                base_windows.append(TimeWindow(None, state.comparison.start_at))
            baseline = read(organization.pk, tz, source, base_windows, mode=mode, coverage=coverage)
        current = _series(metric, frame, 0, baseline, state.range, interval)
        previous = (
            _series(metric, frame, 1, baseline, state.comparison, interval)
            if state.comparison
            else []
        )
        points = []
        for i, (day, value) in enumerate(current):
            point = {"date": day.isoformat(), "value": value, "previous": None}
            if i < len(previous):
                point["previous"] = previous[i][1]
                point["previous_date"] = previous[i][0].isoformat()
            points.append(point)
        payload = _envelope(organization, state)
        payload.update(
            {"metric": metric.key, "unit": metric.unit, "interval": interval, "points": points}
        )
        return payload

    if not use_cache or mode != "hybrid":
        return compute()
    key = dash_cache.make_key(
        organization.pk, f"ts:{metric.key}:{interval}", state, [metric.source]
    )
    return dash_cache.get_or_compute(key, compute)
