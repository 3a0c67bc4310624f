"""Computing findings in two parts, so that history is computed once per version of its days:

* the **closed part** (unusual days and trend breaks) reads only closed days, the scanned
  metrics' daily (or weekly) series up to the last complete day; it changes only when a write
  lands in those days;
* the **tail part** (changes and their contributors, concentration, targets at risk, outlier
  records) reads the period's values through the metric layer, whose closed-day blocks are
  cached, so recomputing it after a write to today reads the open tail only.

insights.queries stores each part under the versions of the days it read
(metrics.cache.inputs_key); `compute_findings` is both parts at once, uncached.
"""

from __future__ import annotations

import datetime as dt

from insights.findings.base import (
    BASELINE_WEEKS,
    DAILY_MAX_DAYS,
    EVERYTHING,
    SCANNED,
    TREND_WEEKS,
    Context,
    Finding,
    Scope,
    Series,
    custom_params,
    num,
    payload_keys,
    week_start,
)
from insights.findings.change import find_changes
from insights.findings.contributors import find_contributors
from insights.findings.ranking import rank
from insights.findings.records import find_concentration, find_outliers
from insights.findings.targets import find_target_risks
from insights.findings.trend import find_trend_breaks
from insights.findings.unusual import find_unusual
from metrics.definitions import METRICS
from metrics.periods import DashboardState, parse_state
from metrics.queries import get_metrics, get_timeseries


def series_window(state: DashboardState) -> tuple[dt.date, dt.date, str, dt.date]:
    """(first day, last day, interval, complete_until) of the closed series the closed part
    reads: the range and its trailing baseline, up to the last complete (closed) day."""
    last_day = state.range.last_day
    # The running day (or week) is incomplete: it is never compared with whole ones.
    complete_until = last_day if state.to_date else last_day + dt.timedelta(days=1)
    interval = "day" if state.range.days <= DAILY_MAX_DAYS else "week"
    if interval == "day":
        trend_start = week_start(complete_until) - dt.timedelta(weeks=TREND_WEEKS)
        first = min(state.range.start - dt.timedelta(weeks=BASELINE_WEEKS), trend_start)
    else:
        scan_from = max(state.range.start, last_day - dt.timedelta(weeks=52))
        first = week_start(scan_from) - dt.timedelta(weeks=max(BASELINE_WEEKS, TREND_WEEKS))
    last = max(first, complete_until - dt.timedelta(days=1))
    return first, last, interval, complete_until


def scanned(scope: Scope) -> list[str]:
    return [key for key in SCANNED if METRICS[key].source in scope.sources]


def read_series(organization, state: DashboardState, scope: Scope) -> Series:
    """The scanned metrics' closed days (or weeks) over the series window."""
    first, last, interval, complete_until = series_window(state)
    window = parse_state(custom_params(first, last), organization, now=state.now)
    values = {}
    for key in scanned(scope):
        args = scope.slice(METRICS[key].source)
        points = get_timeseries(organization, window, key, interval, **args)["points"]
        values[key] = {
            dt.date.fromisoformat(p["date"]): num(p["value"])
            for p in points
            if dt.date.fromisoformat(p["date"]) >= first
        }
    return Series(values, interval, complete_until)


def read_payload(organization, state: DashboardState, scope: Scope) -> dict:
    """The period's values of every metric in the scope, as the KPI cards read them: one
    get_metrics for the unfiltered view, one per source under filters (the cards' own reads,
    so the cache is shared and the numbers are the cards')."""
    keys = payload_keys(scope)
    if not scope.filters:
        return get_metrics(organization, state, keys, owner=scope.owner)
    payload: dict = {"metrics": {}}
    for source in dict.fromkeys(METRICS[key].source for key in keys):
        source_keys = [k for k, m in METRICS.items() if m.source == source]
        part = get_metrics(organization, state, source_keys, **scope.slice(source))
        payload = {**part, "metrics": {**payload["metrics"], **part["metrics"]}}
    return payload


def closed_part(organization, state: DashboardState, scope: Scope) -> tuple[Series, list]:
    """(the closed series, the unusual-day and trend-break findings over them)."""
    series = read_series(organization, state, scope)
    ctx = Context(organization, state, scope, {"metrics": {}}, series)
    return series, find_unusual(ctx) + find_trend_breaks(ctx)


def tail_part(organization, state: DashboardState, scope: Scope, series: Series) -> list:
    """The findings that read the period's values (the open tail included)."""
    payload = read_payload(organization, state, scope)
    ctx = Context(organization, state, scope, payload, series)
    changes = find_changes(ctx)
    return (
        changes
        + find_contributors(ctx, changes)
        + find_concentration(ctx)
        + find_target_risks(ctx)
        + find_outliers(ctx)
    )


def finish(findings: list[Finding], scope: Scope) -> list[Finding]:
    """Ranked, with ids that name the filters (a finding's fingerprint is its scope too)."""
    if scope.filters:
        suffix = "|" + ";".join(f"{k}={v}" for k, v in scope.filters)
        for finding in findings:
            if not finding.id.endswith(suffix):
                finding.id += suffix
    return rank(findings)


def compute_findings(organization, state: DashboardState, scope: Scope = EVERYTHING) -> list:
    """Ranked findings for the period in the scope, most at stake first; weak ones left out."""
    if not payload_keys(scope):
        return []
    series, history = closed_part(organization, state, scope)
    return finish(history + tail_part(organization, state, scope, series), scope)
