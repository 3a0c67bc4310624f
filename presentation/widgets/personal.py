"""The personal page's widgets: one of a person's numbers against earlier spans, with a
sparkline drawn as inline SVG. See docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

from metrics.definitions import METRICS
from metrics.formatting import format_change, format_value
from metrics.periods import dates_label
from metrics.personal import PERIODS, personal_numbers
from presentation.widgets.base import TONES, WidgetContext

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
