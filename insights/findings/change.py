"""``change``: the KPIs that moved the most against the comparison, good or bad, beyond
sampling noise (a total over n records moves by about 1/√n by chance alone)."""

from __future__ import annotations

import math

from insights.findings.base import (
    COUNT_Z,
    MAX_CHANGES,
    MIN_CHANGE_PCT,
    MIN_RATIO_POINTS,
    MIN_VOLUME,
    NOISE_PCT,
    VOLUME_OF,
    Context,
    Finding,
    drill,
    escape,
    money_at_stake,
    num,
    pct_text,
    period_key,
    short,
)
from metrics.definitions import METRICS, WIN_RATE_PARTS, Metric
from metrics.formatting import format_value
from metrics.periods import compare_phrase


def _volume(ctx: Context, metric: Metric) -> float | None:
    """Records behind the metric in the busier of the two periods (None: not a flow)."""
    key = VOLUME_OF.get(metric.key, metric.key)
    if METRICS[key].unit != "count":
        return None
    entry = ctx.payload["metrics"].get(key)
    if entry is None:
        return None
    return max(num(entry["value"]), num(entry["previous"]))


def find_changes(ctx: Context) -> list[Finding]:
    if ctx.state.comparison is None:
        return []
    compare_label = compare_phrase(ctx.state.compare)
    out = []
    for key, entry in ctx.payload["metrics"].items():
        metric = METRICS[key]
        value, previous = entry["value"], entry["previous"]
        if value is None or previous is None or value == previous:
            continue
        volume = _volume(ctx, metric)
        if volume is not None and volume < MIN_VOLUME:
            continue
        # Sampling noise: a total over n records moves by about 1/√n by chance alone.
        noise_pct = NOISE_PCT / math.sqrt(volume) if volume else 0.0
        stake = money_at_stake(metric, num(value) - num(previous))
        if metric.unit == "ratio":
            closed = [ctx.payload["metrics"].get(k, {}) for k in WIN_RATE_PARTS]
            seen = sum(num(e.get("value")) + num(e.get("previous")) for e in closed)
            delta = float(value) - float(previous)
            if abs(delta) < MIN_RATIO_POINTS or seen < 2 * MIN_VOLUME:
                continue
            strength = abs(delta) * 100 / 5  # 5 points -> 1
            size = f"{format_value(abs(delta) * 100, 'percent')[0].rstrip('%')} pts"
        else:
            if not previous or entry["change_pct"] is None:
                continue
            change = float(entry["change_pct"])
            if abs(change) < max(MIN_CHANGE_PCT, noise_pct):
                continue
            if metric.unit == "count" and metric.kind != "state":
                # Poisson noise: a move within COUNT_Z standard deviations is not a finding.
                spread = math.sqrt(float(value) + float(previous))
                if abs(float(value) - float(previous)) < COUNT_Z * spread:
                    continue
            strength = min(abs(change), 100) / 10
            size = pct_text(change)
        up = float(value) > float(previous)
        good = up == metric.up_is_good
        title = (
            f"{metric.label} {'up' if up else 'down'} {size} to {short(value, metric.unit)}, "
            f"from {short(previous, metric.unit)} in {compare_label}"
        )
        spark_values = ctx.series.values.get(key)
        spark: dict
        if spark_values and ctx.series.interval == "day":
            days = [d for d in sorted(spark_values) if ctx.state.range.start <= d]
            spark = {"type": "line", "values": [spark_values[d] for d in days], "highlight": None}
        else:
            spark = {"type": "bars", "values": [num(previous), num(value)], "highlight": 1}
        out.append(
            Finding(
                id=f"change:{key}:{period_key(ctx.state)}",
                kind="change",
                metric=key,
                title_format=escape(title),
                subjects=[],
                value=value,
                previous=previous,
                change_pct=entry["change_pct"],
                score=min(strength, 6.0) * (1.0 if metric.kind != "state" else 0.8),
                drill_url=drill(key, ctx.period()),
                period=ctx.period(),
                facts={"direction": "up" if up else "down", "good": good},
                figure=(value, metric.unit),
                spark=spark,
                at_stake=stake,
            )
        )
    out.sort(key=lambda f: -f.score)
    # Keep the strongest movers, and always the strongest good and bad one.
    kept = out[:MAX_CHANGES]
    for good in (True, False):
        best = next((f for f in out if f.facts["good"] == good), None)
        if best is not None and best not in kept:
            kept.append(best)
    return kept
