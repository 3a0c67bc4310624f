"""The insights widget: the narrative and the top findings, each with its number, a sparkline
and a drill link. See docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go

from insights.queries import get_insights
from metrics.definitions import METRICS
from metrics.formatting import format_value
from metrics.periods import range_label
from presentation.charts import BRAND, COMPARE, axis_for, base_layout, make_figure, plot_value
from presentation.svg import render_figure
from presentation.widgets.base import WidgetContext

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


# What the two bars of a finding's chart are, by kind (contributors name their own).
BAR_LABELS = {
    "change": ("Comparison", "This period"),
    "target_risk": ("Outcome", "Target"),
    "concentration": ("This customer", "Everyone"),
    "outlier_record": ("Usual", "This record"),
}


def _chart_x(finding, n: int) -> list[str]:
    """The x labels of a finding's chart: what each point or bar is."""
    spark = finding.spark
    if spark.get("type") == "bars":
        if finding.kind == "contributors":
            names = {f"{{{i}}}": s.name for i, s in enumerate(finding.subjects)}
            return [names.get(t["key"], t["key"]) for t in finding.facts.get("top", [])][:n]
        labels = BAR_LABELS.get(finding.kind)
        if labels and len(labels) == n:
            return list(labels)
        return [str(i + 1) for i in range(n)]
    if finding.kind == "unusual":
        day = dt.date.fromisoformat(finding.period["from"])
        step = 7
        return [(day - dt.timedelta(days=step * (n - 1 - i))).isoformat() for i in range(n)]
    if finding.kind == "change" and finding.period.get("from"):
        start = dt.date.fromisoformat(finding.period["from"])
        return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]
    return [f"Week {i + 1}" for i in range(n)]


def finding_chart(finding) -> str | None:
    """The finding's chart as server-drawn SVG (presentation.svg), from its spark values in
    the unit of its metric (or of its records' size)."""
    values = list(finding.spark.get("values") or [])
    if not values:
        return None
    unit = finding.facts.get("size_unit") or METRICS[finding.metric].unit
    if finding.kind == "contributors" or finding.kind == "target_risk":
        unit = METRICS[finding.metric].unit
    x = _chart_x(finding, len(values))
    y = [plot_value(v, unit) for v in values]
    highlight = finding.spark.get("highlight")
    if finding.spark.get("type") == "bars":
        # One trace per bar: the highlighted one in the brand colour, the others muted.
        traces = [
            go.Bar(
                x=[label],
                y=[value],
                marker={"color": BRAND if i == highlight else COMPARE},
                showlegend=False,
            )
            for i, (label, value) in enumerate(zip(x, y, strict=True))
        ]
    else:
        traces = [
            go.Scatter(x=x, y=y, mode="lines+markers", line={"color": BRAND}, showlegend=False)
        ]
    layout = base_layout(yaxis=axis_for(unit, max(y, default=0)), barmode="stack")
    if x and x[0][:2] == "20":
        layout["xaxis"] = {**layout["xaxis"], "type": "date"}
    figure = make_figure(traces, layout)
    title = f"{METRICS[finding.metric].label}: {finding.title()}"
    return render_figure(figure, width=560, height=180, title=title)


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
        "severity_label": finding.severity.capitalize(),
        "at_stake": format_value(finding.at_stake, "aud_cents")[0]
        if finding.at_stake is not None
        else None,
        "figure": short_figure,
        "figure_exact": exact_figure,
        "tone": _finding_tone(finding),
        "drill": finding.drill_url,
        "spark": spark_geometry(finding.spark),
    }


def insights_url(state) -> str:
    """The insights page in the same state (range, comparison, filters) as the dashboard."""
    return f"/dashboard/insights/?{state.querystring()}"


def build_insights(ctx: WidgetContext) -> dict:
    """The narrative, then the top findings with their number, a sparkline and a drill link
    (the user's own scope under the dashboard's filters, without what they hid), and a link to
    the insights page with every finding."""
    result = get_insights(ctx.organization, ctx.state, ctx.user, ready=ctx.ready)
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
        "hidden": result["hidden"],
        "note": result["note"],
        "page_url": insights_url(ctx.state),
        "empty": not findings,
        "period": range_label(ctx.state),
        "can_dismiss": ctx.user is not None,
        "yours": result["scope"].owner is not None,
        # Not stored for the current data yet: the last stored (or none), updating.
        "pending": result["pending"],
        "none_yet": result["none_yet"],
    }
