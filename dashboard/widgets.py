"""The widget catalogue and the data each widget shows.

A widget in a layout is {"id", "type", "size", "settings"}. Its type names an entry of
CATALOGUE, which says how to validate its settings and how to build its context from the
metric layer (metrics.queries, its one entry point). Organisation-wide widgets are cached per
organisation data version, so a page can render them inline when they are warm
(`peek_widget`) and otherwise load them as htmx fragments (`build_widget`). Numbers read as
metrics.formatting writes them: "$1.23M" with the exact amount beside it.

Scope (renoz.accounts.permissions): a technician's widgets read their own rows (the metric
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

from metrics import cache as metric_cache
from metrics.definitions import METRICS, Metric
from metrics.formatting import format_change, format_value, short
from metrics.periods import DashboardState, dates_label
from metrics.queries import default_interval, get_breakdown, get_metrics, get_timeseries
from renoz.accounts.models import Organization, User
from renoz.accounts.permissions import activities_scope, jobs_scope, may_see_source, metric_owner
from renoz.operations.models import (
    Activity,
    ActivityKind,
    ClaimKind,
    ClaimStatus,
    InstallationJob,
    JobStatus,
    Stage,
)
from targets.queries import attach_targets

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
        owners = {metric_owner(user, source) for source in self.data_sources(settings)}
        return owners.pop() if len(owners) == 1 else None

    def title_for(self, settings: dict) -> str:
        if self.metric_setting:
            label = METRICS[settings["metric"]].label
            return label if self.kind == "kpi" else f"{label} trend"
        return self.title


def _metric_entry(ctx: WidgetContext, key: str) -> tuple[dict, dict]:
    """The §10 payload entry of one metric, with its target, exactly as the JSON API has it
    (for an owner slice: their own numbers against their personal target)."""
    payload = get_metrics(ctx.organization, ctx.state, owner=ctx.owner)
    entry = dict(payload["metrics"][key])
    single = {**payload, "metrics": {key: entry}}
    attach_targets(ctx.organization, ctx.state, single, user=ctx.user if ctx.owner else None)
    return payload, entry


def build_kpi(ctx: WidgetContext) -> dict:
    metric = METRICS[ctx.settings["metric"]]
    payload, entry = _metric_entry(ctx, metric.key)
    short, exact = format_value(entry["value"], metric.unit)
    previous_short, previous_exact = format_value(entry["previous"], metric.unit)
    compare = COMPARISON_LABELS.get(ctx.state.compare)
    change = format_change(entry, metric.unit)
    tone = TONES.get(entry.get("good"), "neutral")
    target = entry.get("target")
    target_view = None
    if target:
        status = target.get("status") or "on_track"
        pct = target.get("progress_pct")
        target_view = {
            "value": format_value(target.get("value"), metric.unit)[0],
            "exact": format_value(target.get("value"), metric.unit)[1],
            "progress_pct": pct,
            "bar_pct": max(0, min(100, round(pct or 0))),
            "status": status,
            "status_label": status.replace("_", " ").capitalize(),
        }
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
        visible.append(
            f"{target_view['status_label']} {target_view['progress_pct']}% of {target_view['value']}"
        )
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


def _date_axis(interval: str) -> dict:
    axis = {
        "gridcolor": GRID,
        "automargin": True,
        "showgrid": False,
        "linecolor": GRID,
        "type": "date",
        "tickfont": {"color": MUTED},
    }
    if interval == "month":
        # Tricky: without a monthly step plotly ticks every half month and prints each twice.
        axis.update(tickformat="%b %Y", dtick="M1")
    else:
        axis.update(tickformat="%-d %b")
    return axis


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
    series = get_timeseries(ctx.organization, state, metric.key, interval, owner=ctx.owner)
    points = series["points"]
    dates = [p["date"] for p in points]
    values = [_plot_value(p["value"], metric.unit) for p in points]
    compare = COMPARISON_LABELS.get(state.compare)
    traces = [
        go.Scatter(
            x=dates,
            y=values,
            name=f"{range_label(state)}",
            mode="lines+markers" if len(points) <= 45 else "lines",
            line={"color": BRAND, "width": 2.5, "shape": "linear"},
            marker={"size": 5},
            fill="tozeroy",
            fillcolor="rgba(11,110,79,0.08)",
            customdata=[drill_url(metric.key, state, bucket=d, interval=interval) for d in dates],
            hovertemplate=_hover_format(metric.unit) + "<extra>This period</extra>",
        )
    ]
    if state.comparison:
        assert compare is not None  # a comparison is always one of COMPARISON_LABELS
        traces.append(
            go.Scatter(
                x=dates,
                y=[_plot_value(p.get("previous"), metric.unit) for p in points],
                name=f"{compare.capitalize()} ({comparison_label(state)})",
                mode="lines",
                line={"color": COMPARE, "width": 2, "dash": "dot"},
                text=[
                    _bucket_label(dt.date.fromisoformat(p["previous_date"]), interval)
                    if p.get("previous_date")
                    else ""
                    for p in points
                ],
                customdata=[
                    drill_url(
                        metric.key,
                        state,
                        bucket=p["previous_date"],
                        interval=interval,
                        period="comparison",
                    )
                    if p.get("previous_date")
                    else ""
                    for p in points
                ],
                hovertemplate=_hover_format(metric.unit) + " (%{text})<extra>Compared</extra>",
            )
        )
    figure = _figure(
        traces,
        _base_layout(
            yaxis=_axis(metric.unit, max((v for v in values if v is not None), default=0)),
            xaxis=_date_axis(interval),
        ),
    )
    rows = []
    for p in points:
        cells = [format_value(p["value"], metric.unit)[0]]
        if state.comparison:
            cells.append(format_value(p.get("previous"), metric.unit)[0])
        rows.append(
            {
                "label": _bucket_label(dt.date.fromisoformat(p["date"]), interval),
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
        text += f". Dotted line: {COMPARISON_LABELS[state.compare]}"
    return text + "."


def build_pipeline_by_stage(ctx: WidgetContext) -> dict:
    state = ctx.state
    rows_by_stage = {
        row["key"]: row for row in get_breakdown(ctx.organization, state, "pipeline_value", "stage")
    }

    def column(field: str) -> dict[str, int]:
        return {s: int((rows_by_stage.get(s) or {}).get(field) or 0) for s in Stage.values}

    values, counts = column("value"), column("records")
    previous = column("previous") if state.comparison else None
    # Open stages always show; won/lost only when something was still open in them at T.
    stages = [s for s in Stage if s.value in _OPEN_STAGE_VALUES or values[s.value]]
    labels = [s.label for s in stages]
    traces = [
        go.Bar(
            x=labels,
            y=[values[s.value] / 100 for s in stages],
            name=f"Open at {state.range.last_day:%-d %b %Y}",
            marker={"color": BRAND},
            text=[f"{counts[s.value]} opps" for s in stages],
            textposition="none",
            customdata=[drill_url("pipeline_value", state, stage=s.value) for s in stages],
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
                customdata=[drill_url("pipeline_value", state, stage=s.value) for s in stages],
                hovertemplate="$%{y:,.0f}<extra>Compared</extra>",
            )
        )
    figure = _figure(
        traces,
        _base_layout(yaxis=_axis("aud_cents"), barmode="group", bargap=0.3, hovermode="closest"),
    )
    total = sum(values.values())
    rows = [
        {
            "label": s.label,
            "drill": drill_url("pipeline_value", state, stage=s.value),
            "cells": [format_value(values[s.value], "aud_cents")[0], f"{counts[s.value]:,}"]
            + ([format_value(previous[s.value], "aud_cents")[0]] if previous is not None else []),
        }
        for s in stages
    ]
    columns = ["Stage", "Open value", "Open opportunities"]
    if previous is not None:
        columns.append(f"Open value, {COMPARISON_LABELS[state.compare]}")
    biggest = max(stages, key=lambda s: values[s.value])
    summary = (
        f"Open pipeline by stage at the end of {range_label(state)}: total "
        f"{format_value(total, 'aud_cents')[0]}; largest stage {biggest.label} with "
        f"{format_value(values[biggest.value], 'aud_cents')[0]}."
    )
    return {
        "figure": figure,
        "table": {"caption": "Open pipeline by stage", "columns": columns, "rows": rows},
        "summary": summary,
        "empty": total == 0 and not any(counts.values()),
        "empty_text": "No open opportunities at the end of this period.",
        "drill": drill_url("pipeline_value", state),
    }


_OPEN_STAGE_VALUES = {Stage.LEAD, Stage.QUALIFIED, Stage.QUOTED, Stage.NEGOTIATION}


def build_installations(ctx: WidgetContext) -> dict:
    state = ctx.state
    interval = default_interval(state)
    jobs = get_timeseries(ctx.organization, state, "jobs_completed", interval, owner=ctx.owner)
    kwh = get_timeseries(ctx.organization, state, "kwh_deployed", interval, owner=ctx.owner)
    dates = [p["date"] for p in jobs["points"]]
    job_values = [p["value"] or 0 for p in jobs["points"]]
    kwh_values = [float(p["value"] or 0) for p in kwh["points"]]
    compared = state.comparison is not None
    compare_label = COMPARISON_LABELS.get(state.compare, "")
    traces = [
        go.Bar(
            x=dates,
            y=job_values,
            name="Jobs completed",
            marker={"color": BRAND},
            customdata=[
                drill_url("jobs_completed", state, bucket=d, interval=interval) for d in dates
            ],
            hovertemplate="%{y:,} jobs<extra></extra>",
        ),
        go.Scatter(
            x=dates,
            y=kwh_values,
            name="kWh deployed",
            yaxis="y2",
            mode="lines+markers" if len(dates) <= 45 else "lines",
            line={"color": ENERGY, "width": 2.5},
            marker={"size": 5},
            customdata=[
                drill_url("kwh_deployed", state, bucket=d, interval=interval) for d in dates
            ],
            hovertemplate="%{y:,.1f} kWh<extra></extra>",
        ),
    ]
    previous_jobs = [p.get("previous") for p in jobs["points"]]
    previous_kwh = [p.get("previous") for p in kwh["points"]]
    if compared:
        # The comparison period, aligned bucket by bucket like the revenue trend: jobs as pale
        # bars beside this period's, kWh as a dotted line; a click opens that period's rows.
        traces.insert(
            1,
            go.Bar(
                x=dates,
                y=[v or 0 for v in previous_jobs],
                name=f"Jobs, {compare_label}",
                marker={"color": "#c9d1d9"},
                customdata=[
                    drill_url(
                        "jobs_completed",
                        state,
                        bucket=p["previous_date"],
                        interval=interval,
                        period="comparison",
                    )
                    if p.get("previous_date")
                    else ""
                    for p in jobs["points"]
                ],
                hovertemplate="%{y:,} jobs<extra>" + compare_label + "</extra>",
            ),
        )
        traces.append(
            go.Scatter(
                x=dates,
                y=[float(v) if v is not None else None for v in previous_kwh],
                name=f"kWh, {compare_label}",
                yaxis="y2",
                mode="lines",
                line={"color": ENERGY, "width": 1.5, "dash": "dot"},
                opacity=0.7,
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
            xaxis=_date_axis(interval),
        ),
    )
    rows = []
    for i, (d, j, k) in enumerate(zip(dates, job_values, kwh_values, strict=True)):
        cells = [f"{j:,}", short(k, "kwh")]
        if compared:
            cells += [f"{previous_jobs[i] or 0:,}", short(previous_kwh[i] or 0, "kwh")]
        rows.append(
            {
                "label": _bucket_label(dt.date.fromisoformat(d), interval),
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
    summary += ". Bars: jobs; line: kWh" + ("; pale and dotted: comparison." if compared else ".")
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
    breakdown = get_breakdown(ctx.organization, state, "warranty_claims", ("kind", "status"))
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
            customdata=[drill_url("warranty_claims", state, kind=k.value) for k in kinds],
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
                    drill_url("warranty_claims", state, kind=k.value, period="comparison")
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
    page["own_only"] = metric_owner(ctx.user, "activities") is not None
    page["empty"] = not page["items"]
    page["empty_text"] = (
        "You have no activities yet." if page["own_only"] else "No activity recorded yet."
    )
    return page


def build_my_jobs(ctx: WidgetContext) -> dict:
    tz = ctx.organization.tz
    jobs = list(
        jobs_scope(InstallationJob.objects.for_org(ctx.organization), ctx.user)
        .filter(technician=ctx.user, status__in=[JobStatus.SCHEDULED, JobStatus.IN_PROGRESS])
        .select_related("customer")
        .order_by("scheduled_for", "id")[:MY_JOBS_LIMIT]
    )
    items = [
        {
            "customer": job.customer.name,
            "status": job.status,
            "status_label": job.get_status_display(),
            "when": f"{job.scheduled_for.astimezone(tz):%a %-d %b, %-I:%M %p}",
            "iso": job.scheduled_for.isoformat(),
            "kwh": short(job.kwh, "kwh"),
        }
        for job in jobs
    ]
    return {
        "items": items,
        "empty": not items,
        "empty_text": "No scheduled or in-progress jobs are assigned to you.",
        "drill": drill_url("active_installations", ctx.state),
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


CONTEXT_VERSION = 2  # bump when a builder's output changes shape, so old cached contexts go


def cache_name(widget: dict) -> str:
    settings = widget.get("settings") or {}
    parts = "".join(f":{k}={v}" for k, v in sorted(settings.items()))
    return f"w{CONTEXT_VERSION}:{widget['type']}{parts}"


def _key(spec: WidgetType, widget: dict, organization, state, owner) -> str | None:
    parts = spec.cache_parts(widget.get("settings") or {})
    token = f"o{owner}" if owner is not None else ""
    return metric_cache.make_key(organization.pk, cache_name(widget), state, parts, token)


def build_widget(widget: dict, organization, user, state: DashboardState) -> dict:
    """The context of one widget, computed (or read from the cache for org-wide widgets and
    owner slices)."""
    spec = CATALOGUE[widget["type"]]
    settings = widget.get("settings") or {}
    owner = spec.owner_for(user, settings) if user is not None else None
    ctx = WidgetContext(organization, user, state, settings, owner)
    if spec.per_user:
        return spec.build(ctx)
    return metric_cache.get_or_compute(
        _key(spec, widget, organization, state, owner), lambda: spec.build(ctx)
    )


def peek_widget(widget: dict, organization, state: DashboardState, user=None) -> dict | None:
    """The cached context of a widget as `user` sees it, or None; never computes."""
    spec = CATALOGUE[widget["type"]]
    if spec.per_user:
        return None
    owner = spec.owner_for(user, widget.get("settings") or {}) if user is not None else None
    return metric_cache.peek(_key(spec, widget, organization, state, owner))
