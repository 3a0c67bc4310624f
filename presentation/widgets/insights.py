"""The insights widget: the narrative and the top findings, each with its number, a sparkline
and a drill link. See docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

from typing import Any

from insights.queries import get_insights
from metrics.definitions import METRICS
from metrics.formatting import format_value
from metrics.periods import range_label
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
