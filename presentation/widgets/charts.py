"""Chart widgets: a metric's trend, pipeline by stage, installations and warranty claims.

Each returns a plotly figure (presentation.charts), the same numbers as an accessible table,
and a one-line summary; the PDFs draw the same figure as SVG (presentation.svg). See
docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

import datetime as dt

from metrics.definitions import METRICS, Metric
from metrics.formatting import format_value, short
from metrics.periods import comparison_label, comparison_name, range_label
from metrics.queries import (
    default_interval,
    get_breakdown,
    get_timeseries,
    plan_breakdown,
    plan_timeseries,
)
from operations.models import ClaimKind, ClaimStatus, Stage
from presentation.charts import (
    BRAND,
    COMPARE,
    ENERGY,
    INK,
    MUTED,
    STATUS_COLOURS,
    axis_for,
    base_layout,
    bucket_axis,
    bucket_label,
    click_data,
    hover_format,
    line_traces,
    make_figure,
    plot_value,
    trace,
)
from presentation.widgets.base import (
    WidgetContext,
    annotate_url,
    chart_annotations,
    drill_url,
    filter_url,
    slice_for,
)


def build_trend(ctx: WidgetContext) -> dict:
    metric = METRICS[ctx.settings["metric"]]
    state = ctx.state
    interval = default_interval(state)
    series = get_timeseries(
        ctx.organization, state, metric.key, interval, **slice_for(ctx, metric.source)
    )
    points = series["points"]
    dates = [p["date"] for p in points]
    labels, xaxis = bucket_axis(dates, interval)
    values = [plot_value(p["value"], metric.unit) for p in points]
    compare = comparison_name(state.compare)
    traces = line_traces(
        labels,
        values,
        [p["partial"] for p in points],
        name=f"{range_label(state)}",
        color=BRAND,
        hover=hover_format(metric.unit),
        customdata=[
            click_data(
                drill_url(metric.key, state, bucket=d, interval=interval),
                bucket_label(dt.date.fromisoformat(d), interval),
            )
            for d in dates
        ],
        fill="tozeroy",
        fillcolor="rgba(11,110,79,0.08)",
    )
    if state.comparison:
        assert compare is not None  # a comparison is always named (metrics.periods)
        traces.append(
            trace(
                "scatter",
                x=labels,
                y=[plot_value(p.get("previous"), metric.unit) for p in points],
                name=f"{compare.capitalize()} ({comparison_label(state)})",
                mode="lines",
                line={"color": COMPARE, "width": 2, "dash": "dash"},
                text=[
                    bucket_label(dt.date.fromisoformat(p["previous_date"]), interval)
                    if p.get("previous_date")
                    else ""
                    for p in points
                ],
                customdata=[
                    click_data(
                        drill_url(
                            metric.key,
                            state,
                            bucket=p["previous_date"],
                            interval=interval,
                            period="comparison",
                        ),
                        bucket_label(dt.date.fromisoformat(p["previous_date"]), interval),
                    )
                    if p.get("previous_date")
                    else click_data("", "")
                    for p in points
                ],
                hovertemplate=hover_format(metric.unit) + " (%{text})<extra>Compared</extra>",
            )
        )
    marks, notes = chart_annotations(ctx, [metric.key], [metric.source], dates, interval)
    figure = make_figure(
        traces,
        base_layout(
            yaxis=axis_for(metric.unit, max((v for v in values if v is not None), default=0)),
            xaxis=xaxis,
            **marks,
        ),
    )
    rows = []
    for p in points:
        cells = [format_value(p["value"], metric.unit)[0]]
        if state.comparison:
            cells.append(format_value(p.get("previous"), metric.unit)[0])
        label = bucket_label(dt.date.fromisoformat(p["date"]), interval)
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
        "annotations": notes,
        "annotate_url": annotate_url(metric.key),
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
        f"{bucket_label(dt.date.fromisoformat(best_date), interval)}"
    )
    if not metric.is_state and metric.unit != "ratio":
        total = sum(v for _, v in values)
        text += f", total {format_value(total, metric.unit)[0]}"
    if state.comparison:
        text += f". Dashed line: {comparison_name(state.compare)}"
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
        ctx.organization, state, "pipeline_value", "stage", **slice_for(ctx, "pipeline")
    )
    rows_by_stage = {row["key"]: row for row in breakdown}

    def column(field: str) -> dict[str, int]:
        return {s: int((rows_by_stage.get(s) or {}).get(field) or 0) for s in _STAGES}

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
            click_data(
                drill_url("pipeline_value", state, stage=s.value, **extra),
                f"{s.label}, open at {at}" if not period else f"{s.label}, compared",
                filter_url(state, stage=s.value) if s.value in _OPEN_STAGE_VALUES else "",
                f"Stage: {s.label}",
            )
            for s in stage_list
        ]

    traces = [
        trace(
            "bar",
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
            trace(
                "bar",
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
            trace(
                "bar",
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
    figure = make_figure(
        traces,
        base_layout(yaxis=axis_for("aud_cents"), barmode="group", bargap=0.3, hovermode="closest"),
    )
    _marks, notes = chart_annotations(ctx, ["pipeline_value"], ["pipeline"])
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
        columns.append(f"Open value, {comparison_name(state.compare)}")
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
        "annotations": notes,
        "drill": drill_url("pipeline_value", state),
    }


_OPEN_STAGE_VALUES = {Stage.LEAD, Stage.QUALIFIED, Stage.QUOTED, Stage.NEGOTIATION}
# The choices' values once: Django's `Choices.values` builds its list again at each read.
_STAGES = tuple(Stage.values)
_CLAIM_KINDS = tuple(ClaimKind.values)
_CLAIM_STATUSES = tuple(ClaimStatus.values)


def build_installations(ctx: WidgetContext) -> dict:
    state = ctx.state
    interval = default_interval(state)
    jobs = get_timeseries(
        ctx.organization, state, "jobs_completed", interval, **slice_for(ctx, "jobs")
    )
    kwh = get_timeseries(
        ctx.organization, state, "kwh_deployed", interval, **slice_for(ctx, "jobs")
    )
    dates = [p["date"] for p in jobs["points"]]
    labels, xaxis = bucket_axis(dates, interval)
    partial = [p["partial"] for p in jobs["points"]]
    job_values = [p["value"] or 0 for p in jobs["points"]]
    kwh_values = [float(p["value"] or 0) for p in kwh["points"]]
    compared = state.comparison is not None
    compare_label = comparison_name(state.compare) or ""

    def points(metric_key: str, period: str | None = None, key: str = "date") -> list:
        extra = {"period": period} if period else {}
        out = []
        for p in jobs["points"]:
            day = p.get(key)
            if not day:
                out.append(click_data("", ""))
                continue
            label = bucket_label(dt.date.fromisoformat(day), interval)
            url = drill_url(metric_key, state, bucket=day, interval=interval, **extra)
            out.append(click_data(url, label + (" so far" if p["partial"] and not period else "")))
        return out

    traces = [
        trace(
            "bar",
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
        *line_traces(
            labels,
            kwh_values,
            partial,
            name="kWh deployed",
            color=ENERGY,
            hover=hover_format("kwh"),
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
            trace(
                "bar",
                x=labels,
                y=[v or 0 for v in previous_jobs],
                name=f"Jobs, {compare_label}",
                marker={"color": "#c9d1d9"},
                customdata=points("jobs_completed", "comparison", "previous_date"),
                hovertemplate="%{y:,} jobs<extra>" + compare_label + "</extra>",
            ),
        )
        traces.append(
            trace(
                "scatter",
                x=labels,
                y=[float(v) if v is not None else None for v in previous_kwh],
                name=f"kWh, {compare_label}",
                yaxis="y2",
                mode="lines",
                line={"color": ENERGY, "width": 1.5, "dash": "dash"},
                opacity=0.7,
                customdata=points("kwh_deployed", "comparison", "previous_date"),
                hovertemplate=hover_format("kwh") + "<extra>" + compare_label + "</extra>",
            )
        )
    y2 = axis_for("kwh")
    y2.update(overlaying="y", side="right", showgrid=False, tickmode="auto", nticks=5)
    y1 = axis_for("count", max([*job_values, *(v or 0 for v in previous_jobs)], default=0))
    y1.update(title={"text": "Jobs"})
    marks, notes = chart_annotations(
        ctx, ["jobs_completed", "kwh_deployed"], ["jobs"], dates, interval
    )
    figure = make_figure(
        traces,
        base_layout(
            yaxis=y1,
            yaxis2=y2,
            bargap=0.35,
            barmode="group",
            xaxis=xaxis,
            **marks,
        ),
    )
    rows = []
    for i, (d, j, k) in enumerate(zip(dates, job_values, kwh_values, strict=True)):
        cells = [f"{j:,}", short(k, "kwh")]
        if compared:
            cells += [f"{previous_jobs[i] or 0:,}", short(previous_kwh[i] or 0, "kwh")]
        rows.append(
            {
                "label": bucket_label(dt.date.fromisoformat(d), interval)
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
        "annotations": notes,
        "annotate_url": annotate_url(),
        "as_of": jobs["as_of"],
        "drill": drill_url("jobs_completed", state),
    }


def build_warranty(ctx: WidgetContext) -> dict:
    state = ctx.state
    breakdown = get_breakdown(
        ctx.organization, state, "warranty_claims", ("kind", "status"), **slice_for(ctx, "warranty")
    )
    grid = {tuple(row["key"]): int(row["value"] or 0) for row in breakdown}
    grid = {(k, st): grid.get((k, st), 0) for k in _CLAIM_KINDS for st in _CLAIM_STATUSES}
    previous_by_kind = {k: 0 for k in _CLAIM_KINDS}
    for row in breakdown:
        previous_by_kind[row["key"][0]] += int(row["previous"] or 0)
    compared = state.comparison is not None
    compare_label = comparison_name(state.compare) or ""
    kinds = list(ClaimKind)
    traces = [
        trace(
            "bar",
            x=[k.label for k in kinds],
            y=[grid[(k.value, status.value)] for k in kinds],
            name=status.label,
            marker={"color": STATUS_COLOURS[status]},
            customdata=[
                click_data(
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
            trace(
                "scatter",
                x=[k.label for k in kinds],
                y=[previous_by_kind[k.value] for k in kinds],
                name=f"Total, {compare_label}",
                mode="markers",
                marker={"color": INK, "symbol": "line-ew", "size": 28, "line": {"width": 3}},
                customdata=[
                    click_data(
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
    y = axis_for("count", stack_top)
    y.update(title={"text": "Claims"})
    figure = make_figure(
        traces,
        base_layout(
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
    _marks, notes = chart_annotations(ctx, ["warranty_claims"], ["warranty"])
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
        "annotations": notes,
        "drill": drill_url("warranty_claims", state),
    }


# The keys of the payloads each chart reads, which a page looks up (and locks) with the
# widgets' own values in one round trip (metrics.cache.prefetch, issue 25); the engine reads
# computing them make are noted for the page (metrics.queries.plan_timeseries and
# plan_breakdown), so the page's first read makes them all in one round trip. A key that no
# longer matches its builder's read costs a lookup, never a wrong number.


def trend_payloads(ctx: WidgetContext) -> list[str | None]:
    metric = METRICS[ctx.settings["metric"]]
    interval = default_interval(ctx.state)
    sliced = slice_for(ctx, metric.source)
    return [plan_timeseries(ctx.organization, ctx.state, metric.key, interval, **sliced)]


def pipeline_payloads(ctx: WidgetContext) -> list[str | None]:
    sliced = slice_for(ctx, "pipeline")
    return [plan_breakdown(ctx.organization, ctx.state, "pipeline_value", "stage", **sliced)]


def installations_payloads(ctx: WidgetContext) -> list[str | None]:
    interval = default_interval(ctx.state)
    sliced = slice_for(ctx, "jobs")
    return [
        plan_timeseries(ctx.organization, ctx.state, key, interval, **sliced)
        for key in ("jobs_completed", "kwh_deployed")
    ]


def warranty_payloads(ctx: WidgetContext) -> list[str | None]:
    sliced = slice_for(ctx, "warranty")
    by = ("kind", "status")
    return [plan_breakdown(ctx.organization, ctx.state, "warranty_claims", by, **sliced)]
