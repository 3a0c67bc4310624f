"""``unusual``: a day (or, for long ranges, a week) far outside its trailing baseline: the same
weekday over the previous eight weeks, by median and MAD, with a minimum volume. It reads only
closed days, so it is computed once per version of those days (insights.queries)."""

from __future__ import annotations

import datetime as dt
import statistics

from insights.findings.base import (
    BASELINE_WEEKS,
    MIN_BASELINE,
    MIN_DAY_VOLUME,
    UNUSUAL_RATIO_DOWN,
    UNUSUAL_RATIO_UP,
    UNUSUAL_Z,
    VOLUME_OF,
    Context,
    Finding,
    custom_params,
    drill,
    escape,
    floor_scale,
    metric_value,
    money_at_stake,
    robust,
    short,
)
from metrics.definitions import METRICS
from metrics.periods import dates_label


def find_unusual(ctx: Context) -> list[Finding]:
    out = []
    stride = dt.timedelta(days=7)  # the same weekday, or the previous weeks
    for key, values in ctx.series.values.items():
        metric = METRICS[key]
        volume_series = ctx.series.values.get(VOLUME_OF.get(key, key), values)
        best = None
        for day in sorted(values):
            if day < ctx.state.range.start or day >= ctx.series.complete_bound():
                continue
            baseline_days = [day - stride * k for k in range(1, BASELINE_WEEKS + 1)]
            baseline = [values[d] for d in baseline_days if d in values]
            if len(baseline) < MIN_BASELINE:
                continue
            x = values[day]
            med, scale = robust(baseline)
            if med <= 0:
                continue  # no usual level to stand out from (a new series, a closed weekday)
            scale = max(scale, floor_scale(metric, med))
            z = (x - med) / scale
            usual_volume = statistics.median(
                [volume_series.get(d, 0.0) for d in baseline_days if d in volume_series]
            )
            if max(volume_series.get(day, 0.0), usual_volume) < MIN_DAY_VOLUME:
                continue
            high = z >= UNUSUAL_Z and x >= UNUSUAL_RATIO_UP * med
            low = z <= -UNUSUAL_Z and x <= UNUSUAL_RATIO_DOWN * med
            if not (high or low):
                continue
            if best is None or abs(z) > abs(best[1]):
                best = (day, z, x, med, baseline_days)
        if best is None:
            continue
        day, z, x, med, baseline_days = best
        if ctx.series.interval == "day":
            when = f"on {day:%a} {dates_label(day, day)}"
            usual = f"the usual {short(med, metric.unit)} for a {day:%A}"
            first, last = day, day
            extra = {"bucket": day.isoformat(), "interval": "day"}
        else:
            last = min(day + dt.timedelta(days=6), ctx.state.range.end)
            when = f"in the week of {dates_label(day, day)}"
            usual = f"a usual {short(med, metric.unit)} a week"
            first = day
            extra = {"bucket": day.isoformat(), "interval": "week"}
        times = x / med if med else None
        if x > med:
            tail = f"{times:.1f}× {usual}" if times else f"against {usual}"
        else:
            tail = f"against {usual}"
        title = f"{metric.label} {when} was {short(x, metric.unit)}, {tail}"
        history = [ctx.series.values[key].get(d, 0.0) for d in reversed(baseline_days)] + [x]
        out.append(
            Finding(
                id=f"unusual:{key}:{ctx.series.interval}:{day.isoformat()}",
                kind="unusual",
                metric=key,
                title_format=escape(title),
                subjects=[],
                value=metric_value(metric, x),
                previous=None,
                change_pct=None,
                score=min(abs(z) / 2.5, 6.0),
                drill_url=drill(key, ctx.period(), **extra),
                period=custom_params(first, last, "none", ctx.scope.filters),
                facts={
                    "baseline_median": metric_value(metric, med),
                    "robust_z": round(z, 1),
                    "times_usual": round(times, 1) if times else None,
                    "interval": ctx.series.interval,
                },
                figure=(x, metric.unit),
                spark={"type": "line", "values": history, "highlight": len(history) - 1},
                at_stake=money_at_stake(metric, x - med),
            )
        )
    return out
