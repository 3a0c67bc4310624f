"""``trend_break``: a sustained change of slope in the last sixteen complete weeks (a hinge
regression beats a straight line by an F test, and the bend is material). Closed weeks only."""

from __future__ import annotations

import datetime as dt
import math
import statistics

from insights.findings.base import (
    MIN_WEEK_VOLUME,
    TREND_F,
    TREND_MATERIAL,
    TREND_MIN_SEGMENT,
    TREND_WEEKS,
    VOLUME_OF,
    Context,
    Finding,
    custom_params,
    drill,
    escape,
    metric_value,
    money_at_stake,
    pct,
    signed,
    week_start,
)
from metrics.definitions import METRICS
from metrics.periods import dates_label


def _weekly(ctx: Context, values: dict[dt.date, float]) -> list[tuple[dt.date, float]]:
    """Complete Monday-to-Sunday weeks, oldest first, the last TREND_WEEKS of them."""
    if ctx.series.interval == "week":
        weeks = sorted((d, v) for d, v in values.items() if d.weekday() == 0)
        bound = ctx.series.complete_bound()
        weeks = [(d, v) for d, v in weeks if d < bound]
        return weeks[-TREND_WEEKS:]
    end = week_start(ctx.series.complete_until)  # weeks starting before this are complete
    out = []
    for k in range(TREND_WEEKS, 0, -1):
        start = end - dt.timedelta(weeks=k)
        days = [start + dt.timedelta(days=i) for i in range(7)]
        if not all(d in values for d in days):
            continue
        out.append((start, sum(values[d] for d in days)))
    return out


def _line_sse(ts: list[float], ys: list[float]) -> tuple[float, float]:
    n = len(ts)
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / sxx
    sse = sum((y - (my + slope * (t - mt))) ** 2 for t, y in zip(ts, ys, strict=True))
    return sse, slope


def _hinge(ys: list[float], b: int) -> tuple[float, float, float]:
    """Least squares y = a + s1·t + d·max(0, t − b): (sse, s1, s1 + d)."""
    n = len(ys)
    rows = [(1.0, float(t), float(max(0, t - b))) for t in range(n)]
    # Normal equations, 3×3, solved by Cramer's rule (no numpy for a 16-point fit).
    m = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    v = [sum(r[i] * y for r, y in zip(rows, ys, strict=True)) for i in range(3)]

    def det(a):
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    d = det(m)
    if abs(d) < 1e-12:
        return math.inf, 0.0, 0.0
    coef = []
    for i in range(3):
        mi = [row[:] for row in m]
        for r in range(3):
            mi[r][i] = v[r]
        coef.append(det(mi) / d)
    a, s1, bend = coef
    sse = sum(
        (y - (a + s1 * t + bend * max(0, t - b))) ** 2 for t, y in zip(range(n), ys, strict=True)
    )
    return sse, s1, s1 + bend


def find_trend_breaks(ctx: Context) -> list[Finding]:
    out = []
    filters = ctx.scope.filters
    for key, values in ctx.series.values.items():
        metric = METRICS[key]
        weeks = _weekly(ctx, values)
        if len(weeks) < 2 * TREND_MIN_SEGMENT + 2:
            continue
        ys = [v for _, v in weeks]
        volume_weeks = _weekly(ctx, ctx.series.values.get(VOLUME_OF.get(key, key), values))
        if statistics.mean(v for _, v in volume_weeks) < MIN_WEEK_VOLUME:
            continue
        n = len(ys)
        sse0, _ = _line_sse(list(range(n)), ys)
        best = None
        # The bend lies in the recent half, so the weeks since it can be compared with as many
        # weeks just before it.
        for b in range(max(TREND_MIN_SEGMENT, n - 1 - n // 2), n - TREND_MIN_SEGMENT):
            sse1, s1, s2 = _hinge(ys, b)
            if best is None or sse1 < best[0]:
                best = (sse1, s1, s2, b)
        if best is None:
            continue
        sse1, s1, s2, b = best
        f_stat = (sse0 - sse1) / max(sse1 / (n - 3), 1e-9)
        typical = statistics.mean(abs(y) for y in ys) or 1.0
        bend = abs(s2 - s1) * (n - 1 - b)
        if f_stat < TREND_F or bend < TREND_MATERIAL * typical:
            continue
        break_week = weeks[b][0]
        recent = n - 1 - b  # weeks since the break
        last_week_end = weeks[-1][0] + dt.timedelta(days=6)
        first_recent = weeks[n - recent][0]
        per = metric.unit
        direction = "up" if s2 > s1 else "down"
        title = (
            f"{_possessive(metric.label)} weekly trend turned {direction} after the week of "
            f"{dates_label(break_week, break_week)}: {signed(s2, per)} a week since, "
            f"after {signed(s1, per)} a week before"
        )
        out.append(
            Finding(
                id=f"trend_break:{key}:{break_week.isoformat()}",
                kind="trend_break",
                metric=key,
                title_format=escape(title),
                subjects=[],
                value=metric_value(metric, sum(ys[n - recent :])),
                previous=metric_value(metric, sum(ys[n - 2 * recent : n - recent])),
                change_pct=pct(sum(ys[n - recent :]), sum(ys[n - 2 * recent : n - recent])),
                score=min(2.0 + bend / typical, 6.0),
                drill_url=drill(key, custom_params(first_recent, last_week_end, "none", filters)),
                period=custom_params(first_recent, last_week_end, "previous_period", filters),
                facts={
                    "slope_before": metric_value(metric, s1),
                    "slope_after": metric_value(metric, s2),
                    "weeks_since": recent,
                    "f_statistic": round(f_stat, 1),
                },
                figure=(s2, per),
                spark={"type": "line", "values": ys, "highlight": b},
                at_stake=money_at_stake(
                    metric, sum(ys[n - recent :]) - sum(ys[n - 2 * recent : n - recent])
                ),
            )
        )
    return out


def _possessive(label: str) -> str:
    return f"{label}'" if label.endswith("s") else f"{label}'s"
