"""The metric layer's one query entry point: values, comparisons, breakdowns, time series and
the records behind a number, for an organisation, optionally sliced by owner and dimensions.

`get_metrics`, `get_breakdown` and `get_timeseries` return the JSON contract of docs/architecture.md ("JSON API")
(without targets, which the targets app adds) and are cached per organisation data version;
`metric_records` is the queryset of the records a number counts. `mode="live"` bypasses the daily
summaries and the cache as the reference computation.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from metrics import cache as metric_cache
from metrics.coverage import LazyCoverage
from metrics.definitions import METRICS, OWNER, SOURCES, Metric, get_metric
from metrics.engine import WHOLE, Frame, Slice, TimeWindow, expect, read, read_sources
from metrics.filters import not_applying, slice_args
from metrics.periods import DashboardState, Window, add_months, local_midnight
from metrics.records import counted_sql, records_sql, values_sql
from metrics.scope import owner_for, scope_of, scope_word

INTERVALS = ("day", "week", "month")
MAX_POINTS = 400  # a series longer than this must use a coarser interval


def _totals_fn(frame: Frame, idx: int, **fixed):
    if not fixed:  # the usual case: no dimension fixed, nothing to merge at each call
        return lambda measure, **dims: frame.total(idx, measure, **dims)
    return lambda measure, **dims: frame.total(idx, measure, **{**fixed, **dims})


def _windows(state: DashboardState, metrics: list[Metric]):
    """The windows a state needs for these metrics, and {"range"|"state": (current, previous)}
    indexes into them."""
    windows: list[TimeWindow] = []
    slots: dict[str, tuple[int, int | None]] = {}
    for kind in ("range", "state"):
        if not any(m.is_state == (kind == "state") for m in metrics):
            continue
        cur, prev = state.range, state.comparison
        current = len(windows)
        start = cur.start_at if kind == "range" else None
        windows.append(TimeWindow(start, cur.end_at))
        previous = None
        if prev is not None:
            previous = len(windows)
            windows.append(TimeWindow(prev.start_at if kind == "range" else None, prev.end_at))
        slots[kind] = (current, previous)
    return windows, slots


def _by_source(keys) -> dict[str, list[Metric]]:
    out: dict[str, list[Metric]] = defaultdict(list)
    for key in keys:
        metric = get_metric(key)
        out[metric.source].append(metric)
    return out


def compute_values(
    organization,
    state: DashboardState,
    keys: list[str],
    *,
    mode: str = "hybrid",
    where: Slice = WHOLE,
) -> dict[str, tuple]:
    """{metric: (value, previous)} for the state's range and comparison, in the slice `where`.
    A metric whose rows have no owner has no value in an owner's slice (None)."""
    return compute_values_and(organization, state, keys, mode=mode, where=where)[0]


def compute_values_and(
    organization,
    state: DashboardState,
    keys: list[str],
    *,
    mode: str = "hybrid",
    where: Slice = WHOLE,
    extra: TimeWindow | None = None,
    extra_keys: tuple[str, ...] = (),
) -> tuple[dict[str, tuple], dict[str, Any]]:
    """compute_values, and the range metrics `extra_keys` over one more window `extra`, in the
    same read of each source (targets' pace: last year's whole month beside the month and last
    year's same days, one statement per source and path instead of two)."""
    tz = state.tz
    coverage = LazyCoverage(organization.pk, tz) if mode == "hybrid" else None
    out: dict[str, tuple] = {}
    beside: dict[str, Any] = {}
    planned = []
    for source_name, metrics in _by_source(keys).items():
        source = SOURCES[source_name]
        if where.owner is not None and not source.has_owner:
            out.update({m.key: (None, None) for m in metrics})
            beside.update({m.key: None for m in metrics if m.key in extra_keys})
            continue
        windows, slots = _windows(state, metrics)
        also = [m for m in metrics if m.key in extra_keys and not m.is_state]
        if extra is not None and also:
            windows.append(extra)
        planned.append((source, windows, slots, metrics, also))
    # Every source's cached blocks and tail in one round trip (the cards read five sources).
    frames = read_sources(
        organization.pk,
        tz,
        [(source, windows, where.for_source(source)) for source, windows, *_ in planned],
        mode=mode,
        coverage=coverage,
    )
    for (_source, windows, slots, metrics, also), frame in zip(planned, frames, strict=True):
        for metric in metrics:
            cur_idx, prev_idx = slots["state" if metric.is_state else "range"]
            value = metric.value(_totals_fn(frame, cur_idx))
            previous = metric.value(_totals_fn(frame, prev_idx)) if prev_idx is not None else None
            out[metric.key] = (value, previous)
        if extra is not None:
            for metric in also:
                beside[metric.key] = metric.value(_totals_fn(frame, len(windows) - 1))
    return out, beside


def window_values(
    organization, keys: list[str], start_at: dt.datetime, end_at: dt.datetime, *, where=WHOLE
) -> dict:
    """{metric: value} over the instants [start_at, end_at) (state metrics: at end_at)."""
    tz = zoneinfo.ZoneInfo(organization.timezone)
    coverage = LazyCoverage(organization.pk, tz)
    out: dict = {}
    for source_name, metrics in _by_source(keys).items():
        source = SOURCES[source_name]
        if where.owner is not None and not source.has_owner:
            out.update(dict.fromkeys((m.key for m in metrics), None))
            continue
        windows = [TimeWindow(start_at, end_at), TimeWindow(None, end_at)]
        frame = read(
            organization.pk, tz, source, windows, coverage=coverage, where=where.for_source(source)
        )
        for metric in metrics:
            out[metric.key] = metric.value(_totals_fn(frame, 1 if metric.is_state else 0))
    return out


def daily_values_by_owner(organization, keys: list[str], first: dt.date, last: dt.date) -> dict:
    """{(owner id, local day): {metric: value}} for the owned range metrics, each local day in
    [first, last]; pairs with no rows are absent."""
    tz = zoneinfo.ZoneInfo(organization.timezone)
    window = TimeWindow(local_midnight(first, tz), local_midnight(last + dt.timedelta(days=1), tz))
    out: dict = defaultdict(dict)
    for source_name, metrics in _by_source(keys).items():
        source = SOURCES[source_name]
        if not source.has_owner:
            raise ValueError(f"{source_name} rows have no owner")
        frame = read(organization.pk, tz, source, [window], daily=True, by=(OWNER,))
        owner_at = 1 + frame.dims.index(OWNER)
        groups = frame.group(0, lambda key, _i=owner_at: (key[_i], key[0]) if key[_i] else None)
        for pair, sub in groups.items():
            for metric in metrics:
                out[pair][metric.key] = metric.value(_totals_fn(sub, 0))
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


def compare_entry(metric: Metric, value, previous) -> dict:
    """A value against an earlier one, as the §10 payload reads it: {value, unit, previous,
    change, change_pct, trend, good}."""
    return _compare(metric, _round_value(metric, value), _round_value(metric, previous))


def _round_value(metric: Metric, value):
    if value is None:
        return None
    if metric.unit == "ratio":
        return round(value, 4)
    return value


def get_metrics_comparison(
    organization, state: DashboardState, keys: list[str], *, mode: str = "hybrid", where=WHOLE
) -> dict:
    """{metric: {value, unit, previous, change, change_pct, trend, good}}."""
    values = compute_values(organization, state, keys, mode=mode, where=where)
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


def _parts(keys, where: Slice = WHOLE) -> set[str]:
    """The version parts of these metrics' values in a slice: their measures (metrics/cache.py,
    per-measure versions), so a write that moves none of them keeps the payload."""
    sliced = where != WHOLE
    return {part for k in keys for part in METRICS[k].value_parts(sliced)}


def get_metrics(
    organization,
    state: DashboardState,
    keys: list[str] | None = None,
    *,
    owner: int | None = None,
    filters: dict | None = None,
    use_cache: bool = True,
) -> dict:
    """The §10 metrics payload for the organisation, or for one owner's rows and the given
    dimension filters; cached per organisation data version."""
    keys = list(keys or METRICS)
    where = Slice.of(owner, filters)

    def compute():
        payload = _envelope(organization, state)
        payload["metrics"] = get_metrics_comparison(organization, state, keys, where=where)
        for entry in payload["metrics"].values():
            entry["target"] = None
        return payload

    if not use_cache:
        return compute()
    key = metric_cache.make_key(
        organization.pk,
        "metrics:" + ",".join(sorted(keys)),
        state,
        _parts(keys, where),
        where.token(),
        dims=where.dims,
    )
    return metric_cache.get_or_compute(key, compute)


def get_filtered_metrics(
    organization, state: DashboardState, keys: list[str] | None = None, *, user=None
) -> dict:
    """get_metrics as `user` reads it: each metric in its scope (metrics.scope: a technician's
    own jobs and activities) and narrowed by the state's dashboard filters, and saying which
    scope it is in (`"scope": "own"` or `"organization"`). A metric that a filter cannot narrow
    has no value (never an unfiltered one) and names the filters under "not_filtered_by"."""
    keys = list(keys or METRICS)
    payload: dict | None = None
    entries: dict[str, dict] = {}
    if not state.filters:
        # One read per owner slice (the organisation's, and a technician's own), so an
        # unscoped caller reads exactly the one cached payload the cards read.
        groups: dict[int | None, list[str]] = {}
        for key in keys:
            groups.setdefault(owner_for(user, key), []).append(key)
        for owner, group in groups.items():
            part = get_metrics(organization, state, group, owner=owner)
            payload = payload or part
            word = scope_word(owner)
            entries.update({k: {**part["metrics"][k], "scope": word} for k in group})
        out = dict(payload or _envelope(organization, state))
        out["metrics"] = {key: entries[key] for key in keys}
        return out
    for source_name, metrics in _by_source(keys).items():
        scope = scope_of(user, source_name)
        args = slice_args(state.filters, source_name, scope.owner)
        if args is None:
            names = [f.param for f in not_applying(state.filters, [source_name])]
            for metric in metrics:
                entries[metric.key] = {
                    **_compare(metric, None, None),
                    "target": None,
                    "not_filtered_by": names,
                    "scope": scope.word,
                }
            continue
        part = get_metrics(organization, state, [m.key for m in metrics], **args)
        payload = payload or part
        entries.update({m.key: {**part["metrics"][m.key], "scope": scope.word} for m in metrics})
    out = dict(payload or _envelope(organization, state))
    out["metrics"] = {key: entries[key] for key in keys}
    out["filters"] = dict(state.filters)
    return out


def get_breakdown(
    organization,
    state: DashboardState,
    metric_key: str,
    by: str | tuple[str, ...],
    *,
    owner: int | None = None,
    filters: dict | None = None,
    use_cache: bool = True,
) -> list[dict]:
    """The metric split by one or more dimensions ("owner" is the rows' owner):
    [{"key", "value", "previous", "records", "previous_records"}], largest first. `key` is the
    dimension value (a tuple of values for several dimensions); rows without a value of the
    dimension are under None."""
    metric = get_metric(metric_key)
    source = SOURCES[metric.source]
    names = (by,) if isinstance(by, str) else tuple(by)
    dims = _breakdown_dims(by)
    accepted = (*source.dims, *(("owner",) if source.has_owner else ()))
    for name in names:
        if name not in accepted:
            raise ValueError(
                f"{metric.label} cannot be broken down by {name[:40]!r}. "
                f"Accepted: {', '.join(accepted)}"
            )
    where = Slice.of(owner, filters)

    def compute():
        windows, slots = _windows(state, [metric])
        cur_idx, prev_idx = slots["state" if metric.is_state else "range"]
        frame = read(
            organization.pk, state.tz, source, windows, by=dims, where=where.for_source(source)
        )
        at = [1 + frame.dims.index(d) for d in dims]

        def key_of(key):
            return tuple(key[i] for i in at)

        # One pass per window splits it by the dimensions' values (not one scan per value).
        current_groups = frame.group(cur_idx, key_of)
        previous_groups = frame.group(prev_idx, key_of) if prev_idx is not None else {}
        empty = Frame(source, 1, frame.dims)
        rows = []
        for values in {*current_groups, *previous_groups}:
            current = _totals_fn(current_groups.get(values, empty), 0)
            previous = (
                _totals_fn(previous_groups.get(values, empty), 0) if prev_idx is not None else None
            )
            row = {
                "key": values[0] if len(values) == 1 else values,
                "value": _round_value(metric, metric.value(current)),
                "previous": _round_value(metric, metric.value(previous)) if previous else None,
                "records": metric.records(current),
                "previous_records": metric.records(previous) if previous else None,
            }
            if row["records"] or row["previous_records"] or row["value"] or row["previous"]:
                rows.append(row)
        rows.sort(key=lambda r: (-(r["value"] or 0), str(r["key"])))
        return rows

    if not use_cache:
        return compute()
    key = breakdown_key(organization, state, metric_key, by, owner=owner, filters=filters)
    return metric_cache.get_or_compute(key, compute)


def _breakdown_dims(by: str | tuple[str, ...]) -> tuple[str, ...]:
    """The engine's dimensions of a breakdown's names ("owner" is the rows' owner)."""
    names = (by,) if isinstance(by, str) else tuple(by)
    return tuple(OWNER if name == "owner" else name for name in names)


def plan_breakdown(
    organization,
    state: DashboardState,
    metric_key: str,
    by: str | tuple[str, ...],
    *,
    owner: int | None = None,
    filters: dict | None = None,
) -> str | None:
    """breakdown_key, and the engine read computing that payload makes noted for the page
    (metrics.engine.expect): made with the page's first read when the page computes it."""
    key = breakdown_key(organization, state, metric_key, by, owner=owner, filters=filters)
    metric = get_metric(metric_key)
    source = SOURCES[metric.source]
    windows, _slots = _windows(state, [metric])
    where = Slice.of(owner, filters).for_source(source)
    expect(organization.pk, source, windows, by=_breakdown_dims(by), where=where, payload=key)
    return key


def breakdown_key(
    organization,
    state: DashboardState,
    metric_key: str,
    by: str | tuple[str, ...],
    *,
    owner: int | None = None,
    filters: dict | None = None,
) -> str | None:
    """The cache key of get_breakdown's payload (a page looks it up ahead: issue 25)."""
    metric = get_metric(metric_key)
    dims = _breakdown_dims(by)
    where = Slice.of(owner, filters)
    return metric_cache.make_key(
        organization.pk,
        f"by:{metric.key}:{','.join(dims)}",
        state,
        set(metric.reads_parts),  # its values and record counts: their measures
        where.token(),
        dims=(*dims, *where.dims),
    )


def metric_records(
    organization,
    metric: Metric | str,
    start_at: dt.datetime,
    end_at: dt.datetime,
    *,
    owner: int | None = None,
    filters: dict | None = None,
) -> QuerySet:
    """The records a metric counts over [start_at, end_at) (state metrics: open at end_at), in
    the slice, as a queryset of the source's model. Records of a source with a finer grain
    (orders) carry `counted_<measure>`, what each contributes to the number in the slice, and
    `counted_<dimension>`, the values of the finer grain's dimensions it has (its categories)."""
    metric = get_metric(metric) if isinstance(metric, str) else metric
    source = SOURCES[metric.source]
    model = apps.get_model(metric.records_model or source.model)
    merged = {**(filters or {}), **metric.filters}
    where = Slice.of(owner, merged).for_source(source)
    qs = model._default_manager.filter(organization_id=organization.pk)
    if owner is not None and not source.has_owner:
        return qs.none()
    sql, params = records_sql(
        source,
        None if metric.is_state else metric.record_measure,
        where,
        organization.pk,
        start_at,
        end_at,
    )
    # The SQL is built from the definitions only; every value is a parameter.
    qs = qs.filter(pk__in=RawSQL(sql, params))  # noqa: S611
    # The records' own source (a ledger metric such as unbilled_revenue lists orders).
    own = next((s for s in SOURCES.values() if s.model == model._meta.label), source)
    if own is not source:
        source, where = own, Slice.of(owner, merged).for_source(own)
    if source.split is not None:
        # Tricky: under a finer slice a record counts only in part (an order's lines in one
        # product category), so each row carries the measures it contributes to the number.
        for measure in source.measures:
            part_sql, part_params = counted_sql(source, measure, where, model._meta.db_table)
            qs = qs.annotate(**{f"counted_{measure}": RawSQL(part_sql, part_params)})  # noqa: S611
        table = model._meta.db_table
        for dim in source.split.summary_dims:
            qs = qs.annotate(**{f"counted_{dim}": RawSQL(values_sql(source.split, dim, table), ())})  # noqa: S611
    return qs


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


class TooManyPoints(ValueError):
    """A series would have more than MAX_POINTS points; the message suggests an interval."""


def _series(metric: Metric, frame: Frame, idx: int, baseline: Frame | None, bounds) -> list:
    """The metric per bucket in one pass over the frame's days: range metrics sum each bucket's
    days, state metrics carry the running opened-minus-closed sum from the baseline."""
    starts = [lo for lo, _ in bounds]
    ends = [hi for _, hi in bounds]

    def bucket_of(key):
        n = bisect.bisect_right(starts, key[0]) - 1
        return n if n >= 0 and key[0] < ends[n] else None

    groups = frame.group(idx, bucket_of)
    running = Frame(frame.source, 1, frame.dims)
    if baseline is not None:
        running.absorb(baseline, idx)
    values = []
    empty = Frame(frame.source, 1, frame.dims)  # every bucket without rows (read, never added to)
    for n in range(len(bounds)):
        group = groups.get(n, empty)
        if metric.is_state:
            running.absorb(group)
            group = running
        values.append(_round_value(metric, metric.value(_totals_fn(group, 0))))
    return values


def series_buckets(state: DashboardState, interval: str) -> list[tuple[dt.date, dt.date]]:
    """The range's buckets; raises TooManyPoints beyond MAX_POINTS."""
    if interval == "day" and state.range.days > MAX_POINTS:
        raise TooManyPoints(
            f"A daily series is limited to {MAX_POINTS} days and this range has "
            f"{state.range.days}; use interval=week or interval=month"
        )
    return buckets(state.range, interval)


def get_timeseries(
    organization,
    state: DashboardState,
    metric_key: str,
    interval: str | None = None,
    *,
    owner: int | None = None,
    filters: dict | None = None,
    mode: str = "hybrid",
    use_cache: bool = True,
) -> dict:
    """The §10 timeseries payload: points with value and the aligned comparison value."""
    metric = get_metric(metric_key)
    interval = interval or default_interval(state)
    if interval not in INTERVALS:
        raise ValueError(f"Unknown interval {interval[:20]!r}. Accepted: {', '.join(INTERVALS)}")
    current_buckets = series_buckets(state, interval)
    source = SOURCES[metric.source]
    where = Slice.of(owner, filters)

    def compute():
        tz = state.tz
        coverage = LazyCoverage(organization.pk, tz) if mode == "hybrid" else None
        sliced = where.for_source(source)
        windows, base_windows = _series_windows(state)
        no_owner = where.owner is not None and not source.has_owner
        frame = read(
            organization.pk,
            tz,
            source,
            windows,
            daily=True,
            mode=mode,
            coverage=coverage,
            where=sliced,
        )
        baseline = None
        if metric.is_state:
            baseline = read(
                organization.pk,
                tz,
                source,
                base_windows,
                mode=mode,
                coverage=coverage,
                where=sliced,
            )
        current = _series(metric, frame, 0, baseline, current_buckets)
        previous_buckets = buckets(state.comparison, interval) if state.comparison else []
        previous = _series(metric, frame, 1, baseline, previous_buckets) if state.comparison else []
        points = []
        for i, ((day, hi), value) in enumerate(zip(current_buckets, current, strict=True)):
            # The running bucket: the range ends (now) before the bucket's last midnight.
            partial = state.range.end_at < local_midnight(hi, tz)
            point = {"date": day.isoformat(), "value": None if no_owner else value}
            point["partial"] = partial
            point["previous"] = None
            if i < len(previous):
                point["previous"] = None if no_owner else previous[i]
                point["previous_date"] = previous_buckets[i][0].isoformat()
            points.append(point)
        payload = _envelope(organization, state)
        payload.update(
            {"metric": metric.key, "unit": metric.unit, "interval": interval, "points": points}
        )
        return payload

    if not use_cache or mode != "hybrid":
        return compute()
    key = timeseries_key(organization, state, metric_key, interval, owner=owner, filters=filters)
    return metric_cache.get_or_compute(key, compute)


def _series_windows(state: DashboardState) -> tuple[list[TimeWindow], list[TimeWindow]]:
    """(the range's and comparison's windows a series reads by day, the windows before them a
    state metric's running sum starts from)."""
    windows = [TimeWindow(state.range.start_at, state.range.end_at)]
    base = [TimeWindow(None, state.range.start_at)]
    if state.comparison:
        windows.append(TimeWindow(state.comparison.start_at, state.comparison.end_at))
        base.append(TimeWindow(None, state.comparison.start_at))
    return windows, base


def plan_timeseries(
    organization,
    state: DashboardState,
    metric_key: str,
    interval: str | None = None,
    *,
    owner: int | None = None,
    filters: dict | None = None,
) -> str | None:
    """timeseries_key, and the engine reads computing that payload makes noted for the page
    (metrics.engine.expect): made with the page's first read when the page computes it."""
    key = timeseries_key(organization, state, metric_key, interval, owner=owner, filters=filters)
    metric = get_metric(metric_key)
    source = SOURCES[metric.source]
    where = Slice.of(owner, filters).for_source(source)
    windows, base = _series_windows(state)
    expect(organization.pk, source, windows, daily=True, where=where, payload=key)
    if metric.is_state:
        expect(organization.pk, source, base, where=where, payload=key)
    return key


def timeseries_key(
    organization,
    state: DashboardState,
    metric_key: str,
    interval: str | None = None,
    *,
    owner: int | None = None,
    filters: dict | None = None,
) -> str | None:
    """The cache key of get_timeseries's payload (a page looks it up ahead: issue 25)."""
    metric = get_metric(metric_key)
    where = Slice.of(owner, filters)
    return metric_cache.make_key(
        organization.pk,
        f"ts:{metric.key}:{interval or default_interval(state)}",
        state,
        _parts([metric.key], where),
        where.token(),
        dims=where.dims,
    )
