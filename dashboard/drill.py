"""Drill-down: the records behind every metric, and the figure each list adds up to.

The records come from the metric layer (metrics.queries.metric_records), which selects exactly
the rows the metric counts, from the same event definitions as the number: range metrics by
their event in [start, end), state metrics as they stood at the instant `end`. The header's
figure is the metric layer's value over the same slice, so a list always adds up to its KPI.
This module only says how each list is shown: its columns, sorting, search and chart-click
narrowing. Technicians see their own jobs and activities (accounts.permissions).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.urls import reverse

from infra.numbers import parse_id
from metrics.definitions import Metric
from metrics.engine import Slice
from metrics.filters import (
    Filters,
    InvalidFilter,
    describe,
    dimension_filters,
    not_applying,
    owner_filter,
    parse_filters,
)
from metrics.formatting import format_aud, format_value
from metrics.periods import DashboardState, Window, dates_label, local_midnight, parse_state
from metrics.queries import INTERVALS, buckets, default_interval, metric_records, window_values
from metrics.scope import ORGANIZATION, may_see_source, owner_for, scope_of
from presentation.records import DRILL_SETS, Column, DrillSet, format_cell

PAGE_SIZE = 50
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_SEARCH_LENGTH = 100


def drill_set_for(metric: Metric) -> DrillSet:
    return DRILL_SETS[metric.drill]


def user_may_drill(user, metric: Metric) -> bool:
    """Whether the user may open the records of a metric (docs/architecture.md, "The scope rule")."""
    return may_see_source(user, metric.source)


def _filters(
    metric: Metric, narrowing: dict[str, str], filters: Filters = ()
) -> dict[str, tuple[str, ...]]:
    """The metric layer's dimension filters: the dashboard's, then a chart click's narrowing."""
    drill_set = drill_set_for(metric)
    return {
        **dimension_filters(filters, metric.source),
        **{drill_set.narrowing[name][0]: (value,) for name, value in narrowing.items()},
    }


def _owner(user, metric: Metric, filters: Filters) -> int | None:
    """A technician's own rows, else the dashboard's owner filter."""
    own = owner_for(user, metric)
    return own if own is not None else owner_filter(filters)


def metric_queryset(
    metric: Metric, organization, user, window_start, window_end, narrowing=None, filters=()
) -> QuerySet:
    """The rows behind `metric` for the window (state metrics: at the instant window_end), as
    the user may see them, narrowed by the dashboard's filters and a chart click."""
    qs = metric_records(
        organization,
        metric,
        window_start,
        window_end,
        owner=_owner(user, metric, filters),
        filters=_filters(metric, narrowing or {}, filters),
    )
    if metric.drill == "opportunities_open":
        qs = qs.annotate(
            # Tricky: cast before dividing, or PostgreSQL divides integers and drops cents.
            weighted_cents=ExpressionWrapper(
                Cast(
                    F("value_cents") * F("probability"),
                    DecimalField(max_digits=24, decimal_places=2),
                )
                / Value(Decimal(100)),
                output_field=DecimalField(max_digits=24, decimal_places=2),
            )
        )
    return qs


# --- The figure a list adds up to ------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """What a list adds up to: its row count and the metric's value over the same rows."""

    metric: Metric
    count: int
    value: Any  # the metric layer's value for the same window and slice
    detail: str = ""  # e.g. "10 won of 22 closed"
    scope: str = ORGANIZATION  # whose rows: "own" (a technician's) or "organization"

    @property
    def display(self) -> str:
        return format_value(self.value, self.metric.unit)[0]

    @property
    def exact(self) -> str:
        """The exact figure, as the card's title gives it."""
        return format_value(self.value, self.metric.unit)[1]

    @property
    def is_count(self) -> bool:
        return self.metric.unit == "count"


# The figures a detail line quotes beside the metric: "10 won of 22 closed".
_DETAIL_METRICS = {
    "average_order_value": "revenue",
    "quote_win_rate": "quotes_won",
    "weighted_pipeline": "pipeline_value",
}


def metric_summary(
    metric: Metric, organization, user, qs: QuerySet, start_at, end_at, narrowing=None, filters=()
) -> Summary:
    """Count the rows and read the metric for the same window and slice from the metric layer,
    so the figure equals the KPI's."""
    helper = _DETAIL_METRICS.get(metric.key)
    where = Slice.of(_owner(user, metric, filters), _filters(metric, narrowing or {}, filters))
    values = window_values(
        organization, [metric.key, *([helper] if helper else [])], start_at, end_at, where=where
    )
    count = qs.count()
    scope = scope_of(user, metric).word
    return Summary(metric, count, values[metric.key], _detail(metric, values, count), scope)


def _detail(metric: Metric, values: dict, count: int) -> str:
    """A short line explaining how the figure arises from the rows."""
    if metric.key == "average_order_value" and count:
        return f"{format_aud(values['revenue'])} over {count:,} orders"
    if metric.key == "quote_win_rate":
        return f"{values['quotes_won']:,} won of {count:,} closed"
    if metric.key == "weighted_pipeline":
        return f"{format_aud(values['pipeline_value'])} open, weighted by probability"
    return ""


# --- Narrowing, sorting and search -----------------------------------------------------------


class InvalidDrill(ValueError):
    """Bad drill-down input; the message says what is wrong and what is accepted."""


def _parse_day(raw: str, name: str) -> dt.date:
    try:
        if not _DATE_RE.match(raw):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidDrill(f"'{name}' must be a date as YYYY-MM-DD, got {raw[:40]!r}") from None


def resolve_sort(drill_set: DrillSet, raw: str | None) -> tuple[str, str, bool]:
    """(sort param, column key, descending); unknown keys fall back to the set's default."""
    candidate = (raw or "").strip()
    key = candidate.lstrip("-")
    if not candidate or key not in drill_set.sort_keys or candidate.count("-") > 1:
        candidate = drill_set.default_sort
        key = candidate.lstrip("-")
    return candidate, key, candidate.startswith("-")


def apply_sort(drill_set: DrillSet, qs: QuerySet, sort: str) -> QuerySet:
    key = sort.lstrip("-")
    field_name = drill_set.sort_keys[key]
    expr = F(field_name)
    # Tricky: NULLs (no owner, not resolved) go last either way, and pk breaks ties so
    # pagination is stable.
    if sort.startswith("-"):
        return qs.order_by(expr.desc(nulls_last=True), "-pk")
    return qs.order_by(expr.asc(nulls_last=True), "pk")


def apply_search(drill_set: DrillSet, qs: QuerySet, q: str) -> QuerySet:
    q = q.strip()[:MAX_SEARCH_LENGTH]
    if not q:
        return qs
    condition = Q()
    for field_name in drill_set.search_fields:
        condition |= Q(**{f"{field_name}__icontains": q})
    if (pk := parse_id(q)) is not None:
        condition |= Q(pk=pk)
    return qs.filter(condition)


def local_range(start_at: dt.datetime, end_at: dt.datetime, tz) -> tuple[dt.date, dt.date]:
    """The inclusive local dates an instant range covers."""
    last = (end_at - dt.timedelta(microseconds=1)).astimezone(tz).date()
    first = start_at.astimezone(tz).date()
    return first, max(first, last)


# --- One drill-down request ------------------------------------------------------------------


@dataclass(frozen=True)
class DrillRequest:
    """What a drill-down URL asks for, validated: metric, state, window, narrowing, list options."""

    metric: Metric
    drill_set: DrillSet
    state: DashboardState
    period: str  # "current" or "comparison"
    window: Window
    start_at: dt.datetime  # the instants the rows are selected for (state sets: at end_at)
    end_at: dt.datetime
    bucket: tuple[dt.date, dt.date] | None  # [lo, hi) local dates of a chart bucket
    interval: str | None
    narrowing: dict[str, str]
    q: str
    sort: str
    sort_key: str
    descending: bool

    @property
    def first_day(self) -> dt.date:
        return self.bucket[0] if self.bucket else self.window.start

    @property
    def last_day(self) -> dt.date:
        """The last local day the rows cover: a running range's today, not its month's end."""
        if self.bucket:
            return min(self.bucket[1] - dt.timedelta(days=1), self.window.last_day)
        return self.window.last_day

    @property
    def as_at(self) -> str:
        """For state sets: the instant the rows are read at, in local time."""
        return self.end_at.astimezone(self.state.tz).strftime("%-d %b %Y %H:%M")

    def params(self, **overrides) -> dict[str, str]:
        """Query parameters reproducing this request; an override of None drops a parameter."""
        out: dict[str, str] = dict(self.state.params())
        if self.bucket:
            out["bucket"] = self.bucket[0].isoformat()
            out["interval"] = self.interval or "day"
        out.update(self.narrowing)
        if self.period == "comparison":
            out["period"] = "comparison"
        if self.q:
            out["q"] = self.q
        if self.sort != self.drill_set.default_sort:
            out["sort"] = self.sort
        for key, value in overrides.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = str(value)
        return out

    def querystring(self, **overrides) -> str:
        return urlencode(self.params(**overrides))

    def base_queryset(self, organization, user) -> QuerySet:
        """The rows the header adds up: the metric's set, narrowed by the chart click."""
        return metric_queryset(
            self.metric,
            organization,
            user,
            self.start_at,
            self.end_at,
            self.narrowing,
            self.state.filters,
        )

    def list_queryset(self, base: QuerySet) -> QuerySet:
        """The rows as listed: searched, sorted, with their related rows joined."""
        qs = apply_search(self.drill_set, base, self.q)
        if self.drill_set.related:
            qs = qs.select_related(*self.drill_set.related)
        return apply_sort(self.drill_set, qs, self.sort)


PERIODS = ("current", "comparison")


def parse_drill(params, organization, metric: Metric, now: dt.datetime | None = None):
    """Validate a drill-down query; raises InvalidPeriod or InvalidDrill with a clear message."""
    drill_set = drill_set_for(metric)
    state = parse_state(params, organization, now=now)
    period = params.get("period") or "current"
    if period not in PERIODS:
        raise InvalidDrill(f"Unknown period {period[:40]!r}. Accepted: {', '.join(PERIODS)}")
    if period == "comparison":
        if state.comparison is None:
            raise InvalidDrill(
                "period=comparison needs a comparison: add compare=previous_period or "
                "compare=previous_year"
            )
        window = state.comparison
    else:
        window = state.range
    start_at, end_at = window.start_at, window.end_at
    bucket, interval = None, None
    raw_bucket = params.get("bucket")
    raw_interval = params.get("interval")
    if raw_interval and not raw_bucket:
        raise InvalidDrill("'interval' only applies with 'bucket=YYYY-MM-DD'")
    if raw_bucket:
        interval = raw_interval or default_interval(state)
        if interval not in INTERVALS:
            raise InvalidDrill(
                f"Unknown interval {interval[:20]!r}. Accepted: {', '.join(INTERVALS)}"
            )
        day = _parse_day(raw_bucket, "bucket")
        bucket = next((b for b in buckets(window, interval) if b[0] <= day < b[1]), None)
        if bucket is None:
            raise InvalidDrill(
                f"bucket {day} is outside the range {window.start} to {window.last_day}"
            )
        tz = state.tz
        end_at = min(end_at, local_midnight(bucket[1], tz))
        start_at = max(start_at, local_midnight(bucket[0], tz))
    # Validate narrowing now, so a bad value is a 400 before any query runs.
    narrowing: dict[str, str] = {}
    for name in ("stage", "kind", "status"):
        raw = params.get(name)
        if raw:
            if name not in drill_set.narrowing:
                accepted = ", ".join(drill_set.narrowing) or "none"
                raise InvalidDrill(
                    f"'{name}' does not apply to {metric.label.lower()}. "
                    f"Accepted narrowing: {accepted}"
                )
            accepted_values = drill_set.narrowing[name][1]
            if raw not in accepted_values:
                raise InvalidDrill(
                    f"Unknown {name} {raw[:40]!r}. Accepted: {', '.join(accepted_values)}"
                )
            narrowing[name] = raw
    try:
        filters = parse_filters(params, organization)
    except InvalidFilter as exc:
        raise InvalidDrill(str(exc)) from None
    missing = not_applying(filters, [metric.source])
    if missing:
        raise InvalidDrill(
            f"{metric.label} cannot be filtered by {describe(missing)}; remove that filter"
        )
    state = dataclasses.replace(state, filters=filters)
    sort, sort_key, descending = resolve_sort(drill_set, params.get("sort"))
    # Tricky: PostgreSQL text cannot hold NUL, so a NUL in the search would fail the query.
    q = (params.get("q") or "").replace("\x00", "").strip()[:MAX_SEARCH_LENGTH]
    return DrillRequest(
        metric=metric,
        drill_set=drill_set,
        state=state,
        period=period,
        window=window,
        start_at=start_at,
        end_at=end_at,
        bucket=bucket,
        interval=interval,
        narrowing=narrowing,
        q=q,
        sort=sort,
        sort_key=sort_key,
        descending=descending,
    )


# --- Presentation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderCell:
    column: Column
    href: str | None  # the sort link; None when the column is not sortable
    aria_sort: str | None  # "ascending"/"descending" on the sorted column only


# How a status or stage reads at a glance (the pill's colour); the text always says it too.
_TONES = {
    **dict.fromkeys(["fulfilled", "won", "completed", "resolved", "approved"], "good"),
    **dict.fromkeys(["confirmed", "in_progress", "negotiation", "quoted"], "info"),
    **dict.fromkeys(["lost", "cancelled", "rejected"], "bad"),
    **dict.fromkeys(["open", "in_review", "scheduled", "draft"], "wait"),
}


def header_cells(request: DrillRequest, path: str) -> list[HeaderCell]:
    """Column headers with their sort links; the first click sorts numbers and dates descending."""
    out = []
    for column in request.drill_set.columns:
        if not column.order_by:
            out.append(HeaderCell(column, None, None))
            continue
        if column.key == request.sort_key:
            aria = "descending" if request.descending else "ascending"
            nxt = column.key if request.descending else f"-{column.key}"
        else:
            aria = None
            first_desc = column.numeric or column.kind == "datetime"
            nxt = f"-{column.key}" if first_desc else column.key
        href = f"{path}?{request.querystring(sort=nxt, page=None)}"
        out.append(HeaderCell(column, href, aria))
    return out


def table_rows(request: DrillRequest, objects, user=None) -> list[list[dict]]:
    """Each row as cells: text, whether numeric, and, for staff who may open the admin, the
    record's admin link on its name."""
    tz = request.state.tz
    links = bool(getattr(user, "is_staff", False))
    rows = []
    for obj in objects:
        cells = []
        for column in request.drill_set.columns:
            value = column.value(obj)
            text = format_cell(column, value, tz)
            href = None
            if column.kind == "record":
                href = reverse(request.drill_set.admin_url, args=[obj.pk]) if links else None
                text = text or f"#{obj.pk}"
                if column.attr == "pk":
                    text = f"#{obj.pk}"
            tone = _TONES.get(column.raw_value(obj)) if column.kind == "choice" else None
            cells.append({"text": text, "numeric": column.numeric, "href": href, "tone": tone})
        rows.append(cells)
    return rows


def period_label(request: DrillRequest) -> str:
    """What the rows cover: the dates of a range set, or the instant a state set is read at."""
    if request.drill_set.is_state:
        return f"as at {request.as_at}"
    label = dates_label(request.first_day, request.last_day)
    if request.period == "current" and request.state.to_date and not request.bucket:
        label += " (to date)"
    return label


def bucket_label(request: DrillRequest) -> str:
    if not request.bucket:
        return ""
    lo, hi = request.bucket
    last = hi - dt.timedelta(days=1)
    if request.interval == "month":
        return f"Month of {lo:%B %Y}"
    if request.interval == "week":
        return f"Week {dates_label(lo, last)}"
    return f"Day {lo:%-d %b %Y}"
