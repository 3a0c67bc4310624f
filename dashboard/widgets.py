"""The widget catalogue and the data each widget shows.

A widget in a layout is {"id", "type", "size", "settings"}. Its type names an entry of
CATALOGUE, which says how to validate its settings and how to build its context from the
metric layer (metrics.queries, its one entry point). Organisation-wide widgets are cached per
organisation data version, so a page can render them inline when they are warm
(`peek_widget`) and otherwise load them as htmx fragments (`build_widget`). Numbers read as
metrics.formatting writes them: "$1.23M" with the exact amount beside it.

Scope (accounts.permissions): a technician's widgets read their own rows (the metric
layer's owner slice), and they can only add widgets whose records they may open.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization, User
from insights.findings import payload_keys, scope_for
from insights.queries import get_insights
from metrics import cache as metric_cache
from metrics.definitions import METRICS, SOURCES, Metric
from metrics.filters import describe, not_applying, slice_args
from metrics.formatting import format_change, format_value, short
from metrics.periods import DashboardState, dates_label
from metrics.personal import PERIODS, personal_numbers
from metrics.queries import default_interval, get_breakdown, get_metrics, get_timeseries
from metrics.scope import activities_scope, jobs_scope, may_see_source, owner_for
from operations.models import (
    Activity,
    ActivityKind,
    ClaimKind,
    ClaimStatus,
    InstallationJob,
    JobStatus,
    Stage,
)
from targets.queries import STATUS_LABELS, attach_targets

log = logging.getLogger("renoz.dashboard")

SIZES = {"s": "Small", "m": "Medium", "l": "Large"}
FEED_PAGE_SIZE = 15
MY_JOBS_LIMIT = 20

# Brand palette, shared by CSS (static/css/app.css) and the charts.
BRAND = "#0b6e4f"
COMPARE = "#8a96a3"
ENERGY = "#c27c0e"
INK = "#17202a"
MUTED = "#5a6472"
GRID = "#e6eaee"
STATUS_COLOURS = {
    ClaimStatus.OPEN: "#c2410c",
    ClaimStatus.IN_REVIEW: "#e3a008",
    ClaimStatus.APPROVED: "#2f7fc1",
    ClaimStatus.REJECTED: "#8a96a3",
    ClaimStatus.RESOLVED: BRAND,
}
COMPARISON_LABELS = {"previous_period": "previous period", "previous_year": "previous year"}
TONES: dict[bool | None, str] = {True: "good", False: "bad"}


# --- Labels --------------------------------------------------------------------------------


def range_label(state: DashboardState) -> str:
    return dates_label(
        state.range.start, state.range.last_day if state.to_date else state.range.end
    )


def comparison_label(state: DashboardState) -> str | None:
    if not state.comparison:
        return None
    return dates_label(state.comparison.start, state.comparison.end)


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


# --- URLs -----------------------------------------------------------------------------------


def job_url(job_id: int) -> str:
    """A job's page (dashboard.field): customer, site, products, status and history."""
    return f"/dashboard/jobs/{job_id}/"


def drill_url(metric: str, state: DashboardState, **extra: str) -> str:
    """Where a number drills to: the records behind it, in the same state."""
    return f"/dashboard/drill/{metric}/?{state.querystring(**extra)}"


# --- Widget types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetContext:
    organization: Organization
    user: User | None  # None when warming the cache of org-wide widgets
    state: DashboardState
    settings: dict
    owner: int | None = None  # read only this user's rows (a technician's own)
    period: str = "day"  # personal widgets: day, 7d or mtd (metrics.personal.PERIODS)
    keys: tuple[str, ...] = ()  # personal widgets: every metric on the page, computed together


@dataclass(frozen=True)
class WidgetType:
    type: str
    title: str
    description: str
    kind: str  # the template partial: kpi, chart, feed, jobs
    default_size: str
    build: Callable[[WidgetContext], dict]
    metric_setting: bool = False  # settings = {"metric": <key>}
    per_user: bool = False  # depends on the user, so never cached across users
    sources: tuple[str, ...] = ()  # the cache parts it reads, beyond its metric's source

    def cache_parts(self, settings: dict) -> set[str]:
        """The data sources (cache version parts) this widget's value is built from."""
        parts = set(self.sources)
        if self.metric_setting:
            parts.add(METRICS[settings["metric"]].source)
        return parts

    def data_sources(self, settings: dict) -> set[str]:
        """The metric sources whose records the widget shows."""
        return self.cache_parts(settings) - {"targets"}

    def allowed_for(self, user, settings: dict) -> bool:
        """Whether the user may have this widget: they may open the records behind it."""
        return all(may_see_source(user, source) for source in self.data_sources(settings))

    def owner_for(self, user, settings: dict) -> int | None:
        """The owner slice the user reads this widget in (None: the whole organisation)."""
        owners = {owner_for(user, source) for source in self.data_sources(settings)}
        return owners.pop() if len(owners) == 1 else None

    def title_for(self, settings: dict) -> str:
        if self.metric_setting:
            label = METRICS[settings["metric"]].label
            return label if self.kind == "kpi" else f"{label} trend"
        return self.title


def _slice(ctx: WidgetContext, source: str) -> dict:
    """The owner and dimension filters a widget reads `source` with: a technician's own rows,
    or the dashboard's filters (build_widget has checked that they apply)."""
    return slice_args(ctx.state.filters, source, ctx.owner) or {"owner": ctx.owner}


def _metric_entries(
    ctx: WidgetContext, keys: list[str], computed: list[str] | None = None
) -> dict[str, tuple[dict, dict]]:
    """{metric: (its §10 payload, its entry with its target)} exactly as the JSON API has them
    (for an owner slice: their own numbers against their personal targets), from one
    get_metrics over `computed` (None: every metric) and one targets read for all of `keys`. A
    filtered number has no target: targets are set for the whole organisation."""
    if ctx.state.filters:
        out = {}
        for source in dict.fromkeys(METRICS[key].source for key in keys):
            source_keys = [k for k, m in METRICS.items() if m.source == source]
            payload = get_metrics(ctx.organization, ctx.state, source_keys, **_slice(ctx, source))
            out.update(
                {
                    k: (payload, dict(payload["metrics"][k]))
                    for k in keys
                    if METRICS[k].source == source
                }
            )
        return out
    payload = get_metrics(ctx.organization, ctx.state, computed, owner=ctx.owner)
    entries = {key: dict(payload["metrics"][key]) for key in keys}
    attach_targets(
        ctx.organization,
        ctx.state,
        {**payload, "metrics": entries},
        user=ctx.user if ctx.owner else None,
    )
    return {key: (payload, entry) for key, entry in entries.items()}


def target_sentence(target: dict, metric: Metric) -> dict:
    """How a card reads its target, with the numbers a manager needs: "$267k of $2.65M ·
    expected by now $730k · pace 37% · forecast $1.0M · Behind", or for a rate "20.0% against
    a 38.0% target · Behind"; finished periods say Met or Missed."""
    unit = metric.unit
    status = target.get("status") or "on_track"
    phase = (target.get("period") or {}).get("phase")
    goal = format_value(target.get("value"), unit)[0]
    actual = format_value(target.get("actual"), unit)[0]
    parts = []
    if metric.additive:
        parts.append(f"{actual} of {goal}")
        if phase == "running":
            if target.get("expected_to_date") is not None:
                parts.append(f"expected by now {format_value(target['expected_to_date'], unit)[0]}")
            if target.get("pace_pct") is not None:
                parts.append(f"pace {target['pace_pct']:.0f}%")
            if target.get("forecast") is not None:
                parts.append(f"forecast {format_value(target['forecast'], unit)[0]}")
    else:
        parts.append(f"{actual} against a {goal} target")
    label = "Not started" if phase == "upcoming" else STATUS_LABELS.get(status, status)
    rollup = target.get("rollup") or {}
    if rollup.get("rule") == "sum":
        source_text = f"Target from {rollup['months']} monthly targets"
    elif rollup.get("rule") == "last_month":
        source_text = f"Target of {rollup['month']}, the range's last month"
    else:
        source_text = ""
    pct = target.get("progress_pct")
    return {
        "text": " · ".join(parts),
        "status": status,
        "status_label": label,
        "source_text": source_text,
        "bar_pct": max(0, min(100, round(pct or 0))),
        "expected_pct": (
            max(0, min(100, round(target["expected_to_date"] / target["value"] * 100)))
            if phase == "running"
            and metric.additive
            and target.get("value")
            and target.get("expected_to_date") is not None
            else None
        ),
        "value": goal,
        "exact": format_value(target.get("value"), unit)[1],
    }


def build_kpi(ctx: WidgetContext) -> dict:
    """One KPI card on its own (a report, the cache warmer): from the payload of every metric,
    which the JSON API and the insights share."""
    metric = METRICS[ctx.settings["metric"]]
    return _kpi_card(ctx, metric, *_metric_entries(ctx, [metric.key])[metric.key])


def build_kpis(layout: list[dict], organization, user, state: DashboardState) -> dict[str, dict]:
    """{widget id: context} of the layout's KPI cards, as build_widget would give each, from one
    get_metrics over their metrics and one targets read per owner slice (a technician's cards
    of jobs are their own): never one computation, or one wait on another's, per card. With an
    insights widget on the layout, that get_metrics is the one its findings start from."""
    out: dict[str, dict] = {}
    groups: dict[int | None, list[dict]] = {}
    shared: tuple[int | None, list[str]] | None = None
    if any(w["type"] == "insights" for w in layout):
        findings_scope = scope_for(user)
        shared = (findings_scope.owner, payload_keys(findings_scope))
    for widget in (w for w in layout if CATALOGUE[w["type"]].kind == "kpi"):
        spec = CATALOGUE[widget["type"]]
        settings = widget.get("settings") or {}
        unfiltered = unfiltered_context(spec, settings, state)
        if unfiltered is not None:
            out[widget["id"]] = unfiltered
            continue
        owner = spec.owner_for(user, settings) if user is not None else None
        groups.setdefault(owner, []).append(widget)
    for owner, members in groups.items():
        ctx = WidgetContext(organization, user, state, {}, owner)
        keys = sorted({w["settings"]["metric"] for w in members})
        computed = keys
        if shared is not None and shared[0] == owner and set(keys) <= set(shared[1]):
            computed = shared[1]
        entries = _metric_entries(ctx, keys, computed)
        for widget in members:
            metric = METRICS[widget["settings"]["metric"]]
            out[widget["id"]] = _kpi_card(ctx, metric, *entries[metric.key])
    return out


def _kpi_card(ctx: WidgetContext, metric: Metric, payload: dict, entry: dict) -> dict:
    short, exact = format_value(entry["value"], metric.unit)
    previous_short, previous_exact = format_value(entry["previous"], metric.unit)
    compare = COMPARISON_LABELS.get(ctx.state.compare)
    change = format_change(entry, metric.unit)
    tone = TONES.get(entry.get("good"), "neutral")
    target = entry.get("target")
    target_view = target_sentence(target, metric) if target else None
    # What the card shows, in reading order; the accessible name starts with exactly this.
    if not compare:
        delta_text, vs_text = "", "No comparison"
    else:
        vs_text = f"vs {previous_short} {compare}"
        if change and entry["trend"] in ("up", "down"):
            delta_text = change
        elif entry["trend"] == "flat":
            delta_text = "No change"
        else:
            delta_text = "—"
    visible = [metric.label]
    if ctx.owner is not None:
        visible.append("Yours")
    if ctx.state.to_date:
        visible.append("To date")
    visible += [short, delta_text, vs_text]
    if target_view:
        visible.append(f"{target_view['text']} · {target_view['status_label']}")
        if target_view["source_text"]:
            visible.append(target_view["source_text"])
    details = [f"Exact value {exact}"]
    if compare and entry["trend"]:
        direction = {"up": "up", "down": "down", "flat": "unchanged"}[entry["trend"]]
        verdict = {"good": ", better", "bad": ", worse"}.get(tone, "")
        details.append(f"{direction}{verdict}; {compare} {previous_exact}")
    if target_view:
        details.append(f"target {target_view['exact']}")
    aria_label = (
        " ".join(part for part in visible if part)
        + ". "
        + "; ".join(details)
        + ". Opens the records behind this number."
    )
    return {
        "metric": {"key": metric.key, "label": metric.label, "unit": metric.unit},
        "entry": entry,
        "value": short,
        "exact": exact,
        "raw": entry["value"],
        "previous": previous_short,
        "previous_exact": previous_exact,
        "change": change,
        "trend": entry["trend"],
        "tone": tone,
        "compare_label": compare,
        "target": target_view,
        "as_of": payload["as_of"],
        "delta_text": delta_text,
        "vs_text": vs_text,
        "aria_label": aria_label,
        "drill": drill_url(metric.key, ctx.state),
        "empty": entry["value"] is None,
        "yours": ctx.owner is not None,
    }


# --- Charts ---------------------------------------------------------------------------------


def _axis(unit: str, top=None) -> dict:
    """A y axis in the metric's unit; `top` (the largest value) keeps count ticks whole."""
    axis = {
        "gridcolor": GRID,
        "zeroline": False,
        "automargin": True,
        "rangemode": "tozero",
        "tickfont": {"color": MUTED},
    }
    if unit == "aud_cents":
        axis.update(tickprefix="$", tickformat="~s", title={"text": "AUD"})
    elif unit == "kwh":
        axis.update(ticksuffix=" kWh", tickformat=",.0f")
    elif unit == "ratio":
        axis.update(tickformat=".0%")
    elif unit == "hours":
        axis.update(ticksuffix=" h", tickformat=",.0f")
    else:
        axis.update(tickformat=",d")
        if top is not None and top <= 10:
            # Tricky: plotly picks half steps for small counts, which ",d" prints twice.
            axis.update(tick0=0, dtick=1 if top <= 6 else 2)
    return axis


def _hover_format(unit: str) -> str:
    return {
        "aud_cents": "$%{y:,.0f}",
        "kwh": "%{y:,.1f} kWh",
        "ratio": "%{y:.1%}",
        "hours": "%{y:,.1f} h",
    }.get(unit, "%{y:,}")


def _plot_value(value, unit: str):
    """Chart units: dollars for money (axes are in AUD), floats elsewhere."""
    if value is None:
        return None
    if unit == "aud_cents":
        return round(int(value) / 100, 2)
    return float(value)


def _base_layout(**extra) -> dict:
    layout = {
        "autosize": True,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "size": 12,
            "color": INK,
        },
        "hovermode": "x unified",
        "hoverlabel": {"bgcolor": "#fff", "bordercolor": GRID, "font": {"color": INK}},
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"color": MUTED},
        },
        "xaxis": {"gridcolor": GRID, "automargin": True, "showgrid": False, "linecolor": GRID},
        "separators": ".,",
        "template": "none",
    }
    layout.update(extra)
    return layout


def _figure(traces: list, layout: dict) -> dict:
    """A plotly figure as plain JSON data (built with plotly's Python figure classes)."""
    fig = go.Figure(data=traces, layout=layout)
    return json.loads(fig.to_json())


MAX_TICKS = 7  # a phone's width of labels


def _tick_label(day: dt.date, interval: str, long: bool) -> str:
    if interval == "month":
        return f"{day:%b %Y}"
    return f"{day:%-d %b %y}" if long else f"{day:%-d %b}"


def _bucket_axis(dates: list[str], interval: str) -> tuple[list[str], dict]:
    """Category labels for the buckets and an x axis ticking at most MAX_TICKS of them, each
    label once: days or weeks for short ranges, months for long ones."""
    days = [dt.date.fromisoformat(d) for d in dates]
    long = bool(days) and (days[-1] - days[0]).days > 300
    labels = [_tick_label(d, interval, long) for d in days]
    step = max(1, -(-len(labels) // MAX_TICKS))
    axis = {
        "type": "category",
        "gridcolor": GRID,
        "automargin": True,
        "showgrid": False,
        "linecolor": GRID,
        "tickfont": {"color": MUTED},
        "tickmode": "array",
        "tickvals": labels[::step],
        "ticktext": labels[::step],
        "tickangle": 0,
    }
    return labels, axis


def _line_traces(
    x, y, partial: list[bool], *, name, color, hover, customdata, so_far="So far", **extra
) -> list:
    """A series as a solid line over finished buckets and the running bucket as a hollow
    marker apart from it, whose tooltip says "so far" (never a plunge to zero)."""
    running = bool(partial) and partial[-1]
    solid_y = list(y[:-1]) + [None] if running else list(y)
    traces = [
        go.Scatter(
            x=x,
            y=solid_y,
            name=name,
            mode="lines+markers" if len(x) <= 45 else "lines",
            line={"color": color, "width": 2.5, "shape": "linear"},
            marker={"size": 5 if len(x) > 3 else 9},
            cliponaxis=False,  # a marker on the plot's edge is drawn whole
            customdata=customdata,
            hovertemplate=hover + "<extra>%{fullData.name}</extra>",
            **extra,
        )
    ]
    if not running:
        return traces
    # Tricky: no segment joins the running bucket to the last finished one; early in a day a
    # line down to "$0 so far" would read as a collapse.
    extra = {k: v for k, v in extra.items() if k == "yaxis"}
    traces.append(
        go.Scatter(
            x=x[-1:],
            y=y[-1:],
            name=so_far,
            mode="markers",
            marker={"size": 9, "symbol": "circle-open", "color": color, "line": {"width": 2}},
            customdata=customdata[-1:],
            hovertemplate=hover + " so far<extra>Running</extra>",
            **extra,
        )
    )
    return traces


def _point(drill: str, label: str, filter_url: str = "", filter_label: str = "") -> list[str]:
    """A chart point's click data (dashboard.js): where its records are, what it is, and, for
    a bar of a filterable dimension, the dashboard narrowed to it."""
    return [drill, label, filter_url, filter_label]


def filter_url(state: DashboardState, **extra: str) -> str:
    """The dashboard in the same state with one more filter."""
    return f"/dashboard/?{state.querystring(**extra)}"


def _bucket_label(day: dt.date, interval: str) -> str:
    if interval == "month":
        return f"{day:%b %Y}"
    if interval == "week":
        return f"Week of {day:%-d %b %Y}"
    return f"{day:%a %-d %b %Y}"


def build_trend(ctx: WidgetContext) -> dict:
    metric = METRICS[ctx.settings["metric"]]
    state = ctx.state
    interval = default_interval(state)
    series = get_timeseries(
        ctx.organization, state, metric.key, interval, **_slice(ctx, metric.source)
    )
    points = series["points"]
    dates = [p["date"] for p in points]
    labels, xaxis = _bucket_axis(dates, interval)
    values = [_plot_value(p["value"], metric.unit) for p in points]
    compare = COMPARISON_LABELS.get(state.compare)
    traces = _line_traces(
        labels,
        values,
        [p["partial"] for p in points],
        name=f"{range_label(state)}",
        color=BRAND,
        hover=_hover_format(metric.unit),
        customdata=[
            _point(
                drill_url(metric.key, state, bucket=d, interval=interval),
                _bucket_label(dt.date.fromisoformat(d), interval),
            )
            for d in dates
        ],
        fill="tozeroy",
        fillcolor="rgba(11,110,79,0.08)",
    )
    if state.comparison:
        assert compare is not None  # a comparison is always one of COMPARISON_LABELS
        traces.append(
            go.Scatter(
                x=labels,
                y=[_plot_value(p.get("previous"), metric.unit) for p in points],
                name=f"{compare.capitalize()} ({comparison_label(state)})",
                mode="lines",
                line={"color": COMPARE, "width": 2, "dash": "dash"},
                text=[
                    _bucket_label(dt.date.fromisoformat(p["previous_date"]), interval)
                    if p.get("previous_date")
                    else ""
                    for p in points
                ],
                customdata=[
                    _point(
                        drill_url(
                            metric.key,
                            state,
                            bucket=p["previous_date"],
                            interval=interval,
                            period="comparison",
                        ),
                        _bucket_label(dt.date.fromisoformat(p["previous_date"]), interval),
                    )
                    if p.get("previous_date")
                    else _point("", "")
                    for p in points
                ],
                hovertemplate=_hover_format(metric.unit) + " (%{text})<extra>Compared</extra>",
            )
        )
    figure = _figure(
        traces,
        _base_layout(
            yaxis=_axis(metric.unit, max((v for v in values if v is not None), default=0)),
            xaxis=xaxis,
        ),
    )
    rows = []
    for p in points:
        cells = [format_value(p["value"], metric.unit)[0]]
        if state.comparison:
            cells.append(format_value(p.get("previous"), metric.unit)[0])
        label = _bucket_label(dt.date.fromisoformat(p["date"]), interval)
        rows.append(
            {
                "label": f"{label} (so far)" if p["partial"] else label,
                "drill": drill_url(metric.key, state, bucket=p["date"], interval=interval),
                "cells": cells,
            }
        )
    columns = ["Period", metric.label]
    if state.comparison:
        assert compare is not None
        columns.append(f"{compare.capitalize()}")
    has_data = any(v for v in values)
    summary = _trend_summary(metric, points, interval, state)
    return {
        "figure": figure,
        "table": {"caption": f"{metric.label} by {interval}", "columns": columns, "rows": rows},
        "summary": summary,
        "empty": not has_data,
        "empty_text": f"No {metric.label.lower()} in {range_label(state)}.",
        "as_of": series["as_of"],
        "drill": drill_url(metric.key, state),
    }


def _trend_summary(metric: Metric, points: list[dict], interval: str, state) -> str:
    values = [(p["date"], p["value"]) for p in points if p["value"] is not None]
    if not values:
        return f"{metric.label} trend: no data for {range_label(state)}."
    best_date, best = max(values, key=lambda pair: pair[1])
    text = (
        f"{metric.label} by {interval}, {range_label(state)}: {len(points)} points, "
        f"highest {format_value(best, metric.unit)[0]} in "
        f"{_bucket_label(dt.date.fromisoformat(best_date), interval)}"
    )
    if not metric.is_state and metric.unit != "ratio":
        total = sum(v for _, v in values)
        text += f", total {format_value(total, metric.unit)[0]}"
    if state.comparison:
        text += f". Dashed line: {COMPARISON_LABELS[state.compare]}"
    if points and points[-1]["partial"]:
        text += (
            f". The last {interval} is still running: a dotted segment to a hollow marker, so far"
        )
    return text + "."


def build_pipeline_by_stage(ctx: WidgetContext) -> dict:
    """Opportunities open at the range's end instant, by stage. The stage is an
    opportunity's stage now, so those open then that have since been won or lost show apart,
    as "Won since" and "Lost since", never as Won and Lost stages of an open pipeline."""
    state = ctx.state
    breakdown = get_breakdown(
        ctx.organization, state, "pipeline_value", "stage", **_slice(ctx, "pipeline")
    )
    rows_by_stage = {row["key"]: row for row in breakdown}

    def column(field: str) -> dict[str, int]:
        return {s: int((rows_by_stage.get(s) or {}).get(field) or 0) for s in Stage.values}

    values, counts = column("value"), column("records")
    previous = column("previous") if state.comparison else None
    stages = [s for s in Stage if s.value in _OPEN_STAGE_VALUES]
    closed = [s for s in Stage if s.value not in _OPEN_STAGE_VALUES]
    since = [s for s in closed if values[s.value]]
    labels = [s.label for s in stages]
    at = f"{state.range.last_day:%-d %b %Y}"

    def points(stage_list, period=None):
        extra = {"period": period} if period else {}
        return [
            _point(
                drill_url("pipeline_value", state, stage=s.value, **extra),
                f"{s.label}, open at {at}" if not period else f"{s.label}, compared",
                filter_url(state, stage=s.value) if s.value in _OPEN_STAGE_VALUES else "",
                f"Stage: {s.label}",
            )
            for s in stage_list
        ]

    traces = [
        go.Bar(
            x=labels,
            y=[values[s.value] / 100 for s in stages],
            name=f"Open at {at}",
            marker={"color": BRAND},
            text=[f"{counts[s.value]} opps" for s in stages],
            textposition="none",
            customdata=points(stages),
            hovertemplate="$%{y:,.0f} · %{text}<extra></extra>",
        )
    ]
    if previous is not None:
        assert state.comparison is not None  # previous is only read for a comparison
        traces.append(
            go.Bar(
                x=labels,
                y=[previous[s.value] / 100 for s in stages],
                name=f"Open at {state.comparison.last_day:%-d %b %Y}",
                marker={"color": "#c9d1d9"},
                customdata=points(stages, "comparison"),
                hovertemplate="$%{y:,.0f}<extra>Compared</extra>",
            )
        )
    if since:
        traces.append(
            go.Bar(
                x=[f"{s.label} since" for s in since],
                y=[values[s.value] / 100 for s in since],
                name=f"Open at {at}, closed since",
                marker={"color": COMPARE, "pattern": {"shape": "/"}},
                text=[f"{counts[s.value]} opps" for s in since],
                textposition="none",
                customdata=points(since),
                hovertemplate="$%{y:,.0f} · %{text}<extra>Closed since</extra>",
            )
        )
    figure = _figure(
        traces,
        _base_layout(yaxis=_axis("aud_cents"), barmode="group", bargap=0.3, hovermode="closest"),
    )
    total = sum(values.values())
    rows = [
        {
            "label": s.label if s in stages else f"{s.label} since",
            "drill": drill_url("pipeline_value", state, stage=s.value),
            "cells": [format_value(values[s.value], "aud_cents")[0], f"{counts[s.value]:,}"]
            + ([format_value(previous[s.value], "aud_cents")[0]] if previous is not None else []),
        }
        for s in [*stages, *since]
    ]
    columns = ["Stage", "Open value", "Open opportunities"]
    if previous is not None:
        columns.append(f"Open value, {COMPARISON_LABELS[state.compare]}")
    biggest = max(stages, key=lambda s: values[s.value])
    summary = (
        f"Pipeline open at {at} by stage: total "
        f"{format_value(total, 'aud_cents')[0]}; largest stage {biggest.label} with "
        f"{format_value(values[biggest.value], 'aud_cents')[0]}"
    )
    if since:
        summary += "; " + ", ".join(
            f"{format_value(values[s.value], 'aud_cents')[0]} since {s.label.lower()}"
            for s in since
        )
    return {
        "figure": figure,
        "table": {"caption": f"Pipeline open at {at}, by stage", "columns": columns, "rows": rows},
        "summary": summary + ".",
        "empty": total == 0 and not any(counts.values()),
        "empty_text": "No open opportunities at the end of this period.",
        "drill": drill_url("pipeline_value", state),
    }


_OPEN_STAGE_VALUES = {Stage.LEAD, Stage.QUALIFIED, Stage.QUOTED, Stage.NEGOTIATION}


def build_installations(ctx: WidgetContext) -> dict:
    state = ctx.state
    interval = default_interval(state)
    jobs = get_timeseries(
        ctx.organization, state, "jobs_completed", interval, **_slice(ctx, "jobs")
    )
    kwh = get_timeseries(ctx.organization, state, "kwh_deployed", interval, **_slice(ctx, "jobs"))
    dates = [p["date"] for p in jobs["points"]]
    labels, xaxis = _bucket_axis(dates, interval)
    partial = [p["partial"] for p in jobs["points"]]
    job_values = [p["value"] or 0 for p in jobs["points"]]
    kwh_values = [float(p["value"] or 0) for p in kwh["points"]]
    compared = state.comparison is not None
    compare_label = COMPARISON_LABELS.get(state.compare, "")

    def points(metric_key: str, period: str | None = None, key: str = "date") -> list:
        extra = {"period": period} if period else {}
        out = []
        for p in jobs["points"]:
            day = p.get(key)
            if not day:
                out.append(_point("", ""))
                continue
            label = _bucket_label(dt.date.fromisoformat(day), interval)
            url = drill_url(metric_key, state, bucket=day, interval=interval, **extra)
            out.append(_point(url, label + (" so far" if p["partial"] and not period else "")))
        return out

    traces = [
        go.Bar(
            x=labels,
            y=job_values,
            name="Jobs completed",
            # The running bucket is pale: its jobs so far, not a finished bucket's.
            marker={"color": BRAND, "opacity": [0.45 if p else 1 for p in partial]},
            text=[" so far" if p else "" for p in partial],
            textposition="none",
            customdata=points("jobs_completed"),
            hovertemplate="%{y:,} jobs%{text}<extra></extra>",
        ),
        *_line_traces(
            labels,
            kwh_values,
            partial,
            name="kWh deployed",
            color=ENERGY,
            hover="%{y:,.1f} kWh",
            customdata=points("kwh_deployed"),
            so_far="kWh so far",
            yaxis="y2",
        ),
    ]
    previous_jobs = [p.get("previous") for p in jobs["points"]]
    previous_kwh = [p.get("previous") for p in kwh["points"]]
    if compared:
        # The comparison period, aligned bucket by bucket like the revenue trend: jobs as pale
        # bars beside this period's, kWh as a dashed line; a click opens that period's rows.
        traces.insert(
            1,
            go.Bar(
                x=labels,
                y=[v or 0 for v in previous_jobs],
                name=f"Jobs, {compare_label}",
                marker={"color": "#c9d1d9"},
                customdata=points("jobs_completed", "comparison", "previous_date"),
                hovertemplate="%{y:,} jobs<extra>" + compare_label + "</extra>",
            ),
        )
        traces.append(
            go.Scatter(
                x=labels,
                y=[float(v) if v is not None else None for v in previous_kwh],
                name=f"kWh, {compare_label}",
                yaxis="y2",
                mode="lines",
                line={"color": ENERGY, "width": 1.5, "dash": "dash"},
                opacity=0.7,
                customdata=points("kwh_deployed", "comparison", "previous_date"),
                hovertemplate="%{y:,.1f} kWh<extra>" + compare_label + "</extra>",
            )
        )
    y2 = _axis("kwh")
    y2.update(overlaying="y", side="right", showgrid=False, tickmode="auto", nticks=5)
    y1 = _axis("count", max([*job_values, *(v or 0 for v in previous_jobs)], default=0))
    y1.update(title={"text": "Jobs"})
    figure = _figure(
        traces,
        _base_layout(
            yaxis=y1,
            yaxis2=y2,
            bargap=0.35,
            barmode="group",
            xaxis=xaxis,
        ),
    )
    rows = []
    for i, (d, j, k) in enumerate(zip(dates, job_values, kwh_values, strict=True)):
        cells = [f"{j:,}", short(k, "kwh")]
        if compared:
            cells += [f"{previous_jobs[i] or 0:,}", short(previous_kwh[i] or 0, "kwh")]
        rows.append(
            {
                "label": _bucket_label(dt.date.fromisoformat(d), interval)
                + (" (so far)" if partial[i] else ""),
                "drill": drill_url("jobs_completed", state, bucket=d, interval=interval),
                "cells": cells,
            }
        )
    columns = ["Period", "Jobs completed", "kWh deployed"]
    if compared:
        columns += [f"Jobs, {compare_label}", f"kWh, {compare_label}"]
    total_jobs, total_kwh = sum(job_values), sum(kwh_values)
    summary = (
        f"Installations by {interval}, {range_label(state)}: {total_jobs:,} jobs completed, "
        f"{short(total_kwh, 'kwh')} deployed"
    )
    if compared:
        summary += (
            f"; {compare_label}: {sum(v or 0 for v in previous_jobs):,} jobs, "
            f"{short(sum(float(v or 0) for v in previous_kwh), 'kwh')}"
        )
    summary += ". Bars: jobs; line: kWh" + ("; grey and dashed: comparison" if compared else "")
    if partial and partial[-1]:
        summary += f"; the last {interval} is still running (pale bar, hollow marker: so far)"
    summary += "."
    return {
        "figure": figure,
        "table": {
            "caption": f"Installations by {interval}",
            "columns": columns,
            "rows": rows,
        },
        "summary": summary,
        "empty": total_jobs == 0 and total_kwh == 0,
        "empty_text": f"No installations completed in {range_label(state)}.",
        "as_of": jobs["as_of"],
        "drill": drill_url("jobs_completed", state),
    }


def build_warranty(ctx: WidgetContext) -> dict:
    state = ctx.state
    breakdown = get_breakdown(
        ctx.organization, state, "warranty_claims", ("kind", "status"), **_slice(ctx, "warranty")
    )
    grid = {tuple(row["key"]): int(row["value"] or 0) for row in breakdown}
    grid = {(k, st): grid.get((k, st), 0) for k in ClaimKind.values for st in ClaimStatus.values}
    previous_by_kind = {k: 0 for k in ClaimKind.values}
    for row in breakdown:
        previous_by_kind[row["key"][0]] += int(row["previous"] or 0)
    compared = state.comparison is not None
    compare_label = COMPARISON_LABELS.get(state.compare, "")
    kinds = list(ClaimKind)
    traces = [
        go.Bar(
            x=[k.label for k in kinds],
            y=[grid[(k.value, status.value)] for k in kinds],
            name=status.label,
            marker={"color": STATUS_COLOURS[status]},
            customdata=[
                _point(
                    drill_url("warranty_claims", state, kind=k.value, status=status.value),
                    f"{k.label} claims, {status.label.lower()} now",
                    filter_url(state, claim_kind=k.value),
                    f"Claim kind: {k.label}",
                )
                for k in kinds
            ],
            hovertemplate="%{y:,} " + status.label.lower() + "<extra>%{x}</extra>",
        )
        for status in ClaimStatus
    ]
    if compared:
        traces.append(
            go.Scatter(
                x=[k.label for k in kinds],
                y=[previous_by_kind[k.value] for k in kinds],
                name=f"Total, {compare_label}",
                mode="markers",
                marker={"color": INK, "symbol": "line-ew", "size": 28, "line": {"width": 3}},
                customdata=[
                    _point(
                        drill_url("warranty_claims", state, kind=k.value, period="comparison"),
                        f"{k.label} claims, {compare_label}",
                        filter_url(state, claim_kind=k.value),
                        f"Claim kind: {k.label}",
                    )
                    for k in kinds
                ],
                hovertemplate="%{y:,} claims<extra>" + compare_label + "</extra>",
            )
        )
    stack_top = max(
        (
            max(sum(grid[(k.value, st.value)] for st in ClaimStatus), previous_by_kind[k.value])
            for k in kinds
        ),
        default=0,
    )
    y = _axis("count", stack_top)
    y.update(title={"text": "Claims"})
    figure = _figure(
        traces,
        _base_layout(
            yaxis=y,
            barmode="stack",
            bargap=0.35,
            hovermode="x unified",
            legend={
                "orientation": "h",
                "x": 0,
                "y": 1.02,
                "yanchor": "bottom",
                "traceorder": "normal",
                "font": {"color": MUTED},
            },
        ),
    )
    rows = []
    for k in kinds:
        cells = [grid[(k.value, s.value)] for s in ClaimStatus]
        rows.append(
            {
                "label": k.label,
                "drill": drill_url("warranty_claims", state, kind=k.value),
                "cells": [*[f"{c:,}" for c in cells], f"{sum(cells):,}"]
                + ([f"{previous_by_kind[k.value]:,}"] if compared else []),
            }
        )
    total = sum(grid.values())
    by_kind = {k: sum(grid[(k.value, s.value)] for s in ClaimStatus) for k in kinds}
    top = max(kinds, key=lambda k: by_kind[k])
    still_open = sum(
        grid[(k.value, s)] for k in kinds for s in (ClaimStatus.OPEN, ClaimStatus.IN_REVIEW)
    )
    summary = (
        f"Warranty claims opened in {range_label(state)}: {total:,}, most of kind "
        f"{top.label.lower()} ({by_kind[top]:,}); {still_open:,} still open or in review"
    )
    if compared:
        summary += f"; {sum(previous_by_kind.values()):,} in the {compare_label}"
    summary += "."
    return {
        "figure": figure,
        "table": {
            "caption": "Warranty claims opened, by kind and current status",
            "columns": ["Kind", *[s.label for s in ClaimStatus], "Total"]
            + ([f"Total, {compare_label}"] if compared else []),
            "rows": rows,
        },
        "summary": summary,
        "empty": total == 0,
        "empty_text": f"No warranty claims opened in {range_label(state)}.",
        "drill": drill_url("warranty_claims", state),
    }


# --- Lists ----------------------------------------------------------------------------------


def feed_queryset(organization, user, kind: str | None = None):
    """Activities the user may see, newest first: technicians see their own."""
    qs = activities_scope(
        Activity.objects.for_org(organization).select_related("user", "customer"), user
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-occurred_at", "-id")


def encode_cursor(activity) -> str:
    return f"{activity.occurred_at.isoformat()}~{activity.pk}"


def decode_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    """A keyset cursor "<iso time>~<id>", or None when absent or malformed."""
    if not raw or "~" not in raw:
        return None
    stamp, _, pk = raw.rpartition("~")
    try:
        instant = dt.datetime.fromisoformat(stamp.replace(" ", "+"))
        if instant.tzinfo is None:
            return None
        return instant, int(pk)
    except ValueError:
        return None


def feed_page(
    organization,
    user,
    *,
    kind: str | None = None,
    before: str | None = None,
    after: str | None = None,
    now: dt.datetime,
) -> dict:
    """One page of the feed: rows older than `before`, or all rows newer than `after`."""
    if kind not in ActivityKind.values:
        kind = None
    qs = feed_queryset(organization, user, kind).filter(occurred_at__lte=now)
    older = decode_cursor(before)
    newer = decode_cursor(after)
    if newer:
        at, pk = newer
        rows = list(qs.filter(Q(occurred_at__gt=at) | Q(occurred_at=at, pk__gt=pk))[:50])
        has_more = False
    else:
        if older:
            at, pk = older
            qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=pk))
        rows = list(qs[: FEED_PAGE_SIZE + 1])
        has_more = len(rows) > FEED_PAGE_SIZE
        rows = rows[:FEED_PAGE_SIZE]
    tz = organization.tz
    items = [
        {
            "kind": a.kind,
            "kind_label": a.get_kind_display(),
            "subject": a.subject or a.get_kind_display(),
            "customer": a.customer.name if a.customer else "",
            "who": (a.user.full_name or a.user.email) if a.user else "",
            "iso": a.occurred_at.isoformat(),
            "when": time_ago(a.occurred_at, now),
            "exact": f"{a.occurred_at.astimezone(tz):%a %-d %b %Y, %-I:%M %p}",
        }
        for a in rows
    ]
    return {
        "items": items,
        "kind": kind or "",
        "newest": encode_cursor(rows[0]) if rows and not older else (after or ""),
        "next": encode_cursor(rows[-1]) if has_more else None,
        "kinds": ActivityKind.choices,
    }


def build_feed(ctx: WidgetContext) -> dict:
    page = feed_page(ctx.organization, ctx.user, now=timezone.now())
    if not page["newest"]:
        page["newest"] = f"{timezone.now().isoformat()}~0"
    page["own_only"] = owner_for(ctx.user, "activities") is not None
    page["empty"] = not page["items"]
    page["empty_text"] = (
        "You have no activities yet." if page["own_only"] else "No activity recorded yet."
    )
    return page


def build_my_jobs(ctx: WidgetContext) -> dict:
    tz = ctx.organization.tz
    jobs = list(
        jobs_scope(InstallationJob.objects.for_org(ctx.organization).open(), ctx.user)
        .filter(technician=ctx.user)
        .select_related("customer")
        .order_by("scheduled_for", "id")[:MY_JOBS_LIMIT]
    )
    items = [
        {
            "url": job_url(job.pk),
            "customer": job.customer.name,
            "status": job.status,
            "status_label": job.get_status_display(),
            "when": f"{job.scheduled_for.astimezone(tz):%a %-d %b, %-I:%M %p}",
            "iso": job.scheduled_for.isoformat(),
            "kwh": short(job.kwh, "kwh"),
        }
        for job in jobs
    ]
    now = timezone.now()
    return {
        "items": items,
        "ahead": sum(
            1 for job in jobs if job.status == JobStatus.SCHEDULED and job.scheduled_for >= now
        ),
        "empty": not items,
        "empty_text": "No scheduled or in-progress jobs are assigned to you.",
        "drill": drill_url("active_installations", ctx.state),
    }


SPARK_WIDTH, SPARK_HEIGHT = 120, 32
DAY_COMPARISONS = ("Yesterday", "Same day last week", "Same day last month")


def sparkline(values: list) -> dict:
    """An inline SVG polyline of daily values (no charts library): points and extremes."""
    numbers = [float(v or 0) for v in values]
    top = max(numbers, default=0) or 1.0
    step = SPARK_WIDTH / max(1, len(numbers) - 1)
    points = " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - (v / top) * (SPARK_HEIGHT - 4):.1f}"
        for i, v in enumerate(numbers)
    )
    return {"points": points, "width": SPARK_WIDTH, "height": SPARK_HEIGHT}


def build_personal_kpi(ctx: WidgetContext) -> dict:
    """One of a person's numbers over the period, against the earlier spans, with a 30-day
    sparkline (metrics.personal: stored days and today live)."""
    metric = METRICS[ctx.settings["metric"]]
    assert ctx.owner is not None  # personal widgets always read one person's slice
    day = ctx.state.range.start
    keys = ctx.keys or (metric.key,)
    numbers = personal_numbers(
        ctx.organization, ctx.owner, day, ctx.period, keys, now=ctx.state.now
    )[metric.key]
    value_short, value_exact = format_value(numbers["value"], metric.unit)
    comparisons = []
    for i, entry in enumerate(numbers["comparisons"]):
        name = DAY_COMPARISONS[i] if ctx.period == "day" else "Previous span"
        tone = TONES.get(entry.get("good"), "neutral")
        change = format_change(entry, metric.unit)
        comparisons.append(
            {
                "name": name,
                "dates": dates_label(entry["first"], entry["last"]),
                "value": format_value(entry["previous"], metric.unit)[0],
                "exact": format_value(entry["previous"], metric.unit)[1],
                "trend": entry["trend"],
                "tone": tone,
                "change": change if entry["trend"] in ("up", "down") else None,
                "flat": entry["trend"] == "flat",
            }
        )
    spark = numbers["spark"]
    today = ctx.state.now.astimezone(ctx.state.tz).date()
    if ctx.period == "day":
        period_text = "Today so far" if day == today else dates_label(day, day)
    else:
        period_text = PERIODS[ctx.period]
    spark_first, spark_last = format_value(spark[0], metric.unit)[0], value_short
    peak = format_value(max((v for v in spark if v is not None), default=None), metric.unit)[0]
    first_cmp = comparisons[0] if comparisons else None
    aria = f"{metric.label}, {period_text}: {value_exact}"
    if first_cmp:
        aria += f"; {first_cmp['name'].lower()} {first_cmp['exact']}"
    return {
        "metric": {"key": metric.key, "label": metric.label, "unit": metric.unit},
        "value": value_short,
        "exact": value_exact,
        "raw": numbers["value"],
        "period_text": period_text,
        "comparisons": comparisons,
        "spark": sparkline(spark),
        "spark_label": (
            f"Last 30 days of {metric.label.lower()}, daily: from {spark_first} to "
            f"{format_value(spark[-1], metric.unit)[0]}, peak {peak}"
        ),
        "spark_last": spark_last,
        "aria_label": aria,
        "empty": False,
    }


# --- Insights -------------------------------------------------------------------------------

INSIGHT_KIND_LABELS = {
    "change": "Change",
    "unusual": "Unusual",
    "trend_break": "Trend break",
    "contributors": "Drivers",
    "concentration": "Concentration",
    "target_risk": "Target at risk",
    "outlier_record": "Outlier",
}
SPARK_W, SPARK_H, SPARK_PAD = 96, 28, 2
INSIGHTS_SHOWN = 3


def spark_geometry(spark: dict) -> dict | None:
    """An inline SVG's shapes for a finding's sparkline or bars, in a 96×28 box."""
    values = [float(v) for v in spark.get("values") or []]
    if not values:
        return None
    top, bottom = max(max(values), 0.0), min(min(values), 0.0)
    span = (top - bottom) or 1.0
    inner_w, inner_h = SPARK_W - 2 * SPARK_PAD, SPARK_H - 2 * SPARK_PAD

    def y(v: float) -> float:
        return round(SPARK_PAD + inner_h * (top - v) / span, 1)

    highlight = spark.get("highlight")
    out: dict[str, Any] = {"type": spark["type"], "w": SPARK_W, "h": SPARK_H}
    if spark["type"] == "line":
        step = inner_w / max(len(values) - 1, 1)
        points = [(round(SPARK_PAD + i * step, 1), y(v)) for i, v in enumerate(values)]
        out["points"] = " ".join(f"{px},{py}" for px, py in points)
        out["dot"] = points[highlight] if highlight is not None else None
        return out
    slot = inner_w / len(values)
    out["bars"] = [
        {
            "x": round(SPARK_PAD + i * slot + slot * 0.15, 1),
            "y": min(y(v), y(0.0)),
            "w": round(slot * 0.7, 1),
            "h": max(round(abs(y(0.0) - y(v)), 1), 1.0),
            "hot": i == highlight,
        }
        for i, v in enumerate(values)
    ]
    return out


def _finding_tone(finding) -> str:
    metric = METRICS[finding.metric]
    facts = finding.facts
    if finding.kind == "change":
        return "good" if facts.get("good") else "bad"
    if finding.kind == "target_risk":
        return "bad"
    if finding.kind == "contributors":
        return "good" if (facts.get("change", 0) > 0) == metric.up_is_good else "bad"
    if finding.kind == "unusual":
        up = float(finding.figure[0] or 0) > float(facts.get("baseline_median") or 0)
        return "good" if up == metric.up_is_good else "bad"
    if finding.kind == "trend_break":
        up = facts.get("slope_after", 0) > facts.get("slope_before", 0)
        return "good" if up == metric.up_is_good else "bad"
    return "neutral"


def finding_view(finding) -> dict:
    """What the widget (and a printed report) shows of one finding: self-contained data."""
    figure, unit = finding.figure
    short_figure, exact_figure = format_value(figure, unit)
    if finding.kind == "trend_break" and figure is not None:
        short_figure = ("+" if figure > 0 else "") + short_figure + " / wk"
    return {
        "id": finding.id,
        "kind": finding.kind,
        "kind_label": INSIGHT_KIND_LABELS[finding.kind],
        "metric_label": METRICS[finding.metric].label,
        "title": finding.title(),
        "severity": finding.severity,
        "figure": short_figure,
        "figure_exact": exact_figure,
        "tone": _finding_tone(finding),
        "drill": finding.drill_url,
        "spark": spark_geometry(finding.spark),
    }


def build_insights(ctx: WidgetContext) -> dict:
    """The narrative, then the top findings with their number, a sparkline and a drill link
    (the user's own scope, without what they marked not useful)."""
    result = get_insights(ctx.organization, ctx.state, ctx.user)
    findings = result["findings"]
    narrative = result["narrative"]
    return {
        "narrative": {
            "text": narrative.text,
            "source": narrative.source,
            "source_label": "Summarised by AI from the findings below"
            if narrative.source == "llm"
            else "Computed from the data",
        },
        "findings": [finding_view(f) for f in findings[:INSIGHTS_SHOWN]],
        "more": max(0, len(findings) - INSIGHTS_SHOWN),
        "empty": not findings,
        "period": range_label(ctx.state),
        "can_dismiss": ctx.user is not None,
        "yours": result["scope"].owner is not None,
    }


CATALOGUE: dict[str, WidgetType] = {
    w.type: w
    for w in [
        WidgetType(
            "kpi",
            "KPI",
            "One number with its comparison and target",
            "kpi",
            "s",
            build_kpi,
            metric_setting=True,
            sources=("targets",),
        ),
        WidgetType(
            "trend",
            "Trend",
            "A metric over time, with the comparison overlaid",
            "chart",
            "l",
            build_trend,
            metric_setting=True,
        ),
        WidgetType(
            "pipeline_by_stage",
            "Pipeline by stage",
            "Open pipeline value per stage",
            "chart",
            "m",
            build_pipeline_by_stage,
            sources=("pipeline",),
        ),
        WidgetType(
            "installations",
            "Installations",
            "Jobs completed and kWh deployed",
            "chart",
            "m",
            build_installations,
            sources=("jobs",),
        ),
        WidgetType(
            "warranty_claims",
            "Warranty claims",
            "Claims opened, by kind and status",
            "chart",
            "m",
            build_warranty,
            sources=("warranty",),
        ),
        WidgetType(
            "activity_feed",
            "Latest activity",
            "Calls, emails, meetings and visits, live",
            "feed",
            "m",
            build_feed,
            per_user=True,
        ),
        WidgetType(
            "personal_kpi",
            "Personal KPI",
            "One of your numbers against yesterday, last week and last month",
            "personal",
            "s",
            build_personal_kpi,
            metric_setting=True,
            per_user=True,
        ),
        WidgetType(
            "insights",
            "Insights",
            "What moved and why: computed findings, worded by AI when configured",
            "insights",
            "l",
            build_insights,
            per_user=True,  # without the findings the user marked not useful
            sources=(*SOURCES, "targets"),
        ),
        WidgetType(
            "my_jobs",
            "My jobs",
            "Your scheduled and in-progress installations",
            "jobs",
            "m",
            build_my_jobs,
            per_user=True,
        ),
    ]
}


def catalogue_choices(user=None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the "add widget" form, those the user may have: values are "<type>"
    or "<type>:<metric>"."""

    def allowed(widget_type: str, metric: str | None = None) -> bool:
        settings = {"metric": metric} if metric else {}
        return user is None or CATALOGUE[widget_type].allowed_for(user, settings)

    return [
        ("Numbers", [(f"kpi:{m.key}", m.label) for m in METRICS.values() if allowed("kpi", m.key)]),
        (
            "Trends",
            [
                (f"trend:{m.key}", f"{m.label} trend")
                for m in METRICS.values()
                if allowed("trend", m.key)
            ],
        ),
        (
            "Charts and lists",
            [
                (w.type, w.title)
                for w in CATALOGUE.values()
                if not w.metric_setting and allowed(w.type)
            ],
        ),
    ]


class WidgetSettingsError(ValueError):
    pass


def clean_settings(widget_type: Any, settings) -> dict:
    """Validated settings for a widget type (both as stored: any JSON value); raises
    WidgetSettingsError."""
    spec = CATALOGUE.get(widget_type)
    if spec is None:
        raise WidgetSettingsError(f"Unknown widget type {str(widget_type)[:40]!r}")
    settings = settings if isinstance(settings, dict) else {}
    if spec.metric_setting:
        metric = settings.get("metric")
        if metric not in METRICS:
            raise WidgetSettingsError(f"Unknown metric {str(metric)[:40]!r} for {widget_type}")
        return {"metric": metric}
    return {}


# --- Building and caching -------------------------------------------------------------------


CONTEXT_VERSION = 3  # bump when a builder's output changes shape, so old cached contexts go


def cache_name(widget: dict) -> str:
    settings = widget.get("settings") or {}
    parts = "".join(f":{k}={v}" for k, v in sorted(settings.items()))
    return f"w{CONTEXT_VERSION}:{widget['type']}{parts}"


def _key(spec: WidgetType, widget: dict, organization, state, owner) -> str | None:
    parts = spec.cache_parts(widget.get("settings") or {})
    token = f"o{owner}" if owner is not None else ""
    if state.filters:
        # Tricky: the filters change the numbers and every link the widget holds.
        token += "|" + ";".join(f"{k}={v}" for k, v in state.filters)
    return metric_cache.make_key(organization.pk, cache_name(widget), state, parts, token)


def unfiltered_context(spec: WidgetType, settings: dict, state: DashboardState) -> dict | None:
    """What a widget shows when a dashboard filter cannot narrow its numbers (say so, never an
    unfiltered number), or None when every filter applies."""
    missing = not_applying(state.filters, spec.data_sources(settings))
    if not missing or spec.per_user:
        return None
    title = spec.title_for(settings)
    text = f"{title} cannot be filtered by {describe(missing)}."
    metric = METRICS[settings["metric"]] if spec.metric_setting else None
    return {
        "not_filtered": True,
        "empty": True,
        "empty_text": text,
        "not_filtered_text": text,
        "metric": {"key": metric.key, "label": metric.label, "unit": metric.unit}
        if metric
        else None,
    }


def build_widget(widget: dict, organization, user, state: DashboardState) -> dict:
    """The context of one widget, computed (or read from the cache for org-wide widgets and
    owner slices)."""
    spec = CATALOGUE[widget["type"]]
    settings = widget.get("settings") or {}
    owner = spec.owner_for(user, settings) if user is not None else None
    ctx = WidgetContext(organization, user, state, settings, owner)
    if spec.per_user:
        return spec.build(ctx)
    unfiltered = unfiltered_context(spec, settings, state)
    if unfiltered is not None:
        return unfiltered
    return metric_cache.get_or_compute(
        _key(spec, widget, organization, state, owner), lambda: spec.build(ctx)
    )


def build_personal_widget(
    widget: dict, organization, subject, state: DashboardState, period: str, keys
) -> dict:
    """The context of a widget on `subject`'s personal dashboard: their own slice."""
    spec = CATALOGUE[widget["type"]]
    ctx = WidgetContext(
        organization,
        subject,
        state,
        widget.get("settings") or {},
        subject.pk,
        period=period,
        keys=tuple(keys),
    )
    return spec.build(ctx)


def peek_widget(widget: dict, organization, state: DashboardState, user=None) -> dict | None:
    """The cached context of a widget as `user` sees it, or None; never computes."""
    spec = CATALOGUE[widget["type"]]
    if spec.per_user:
        return None
    owner = spec.owner_for(user, widget.get("settings") or {}) if user is not None else None
    return metric_cache.peek(_key(spec, widget, organization, state, owner))
