"""Demo targets: a believable year of monthly targets, drawn from the organisation's actuals.

For last financial year and this one, each month of revenue, kWh deployed and new customers
gets a target near what the month actually did (or, for months not yet over, near the same
month last year grown by the recent trend), scaled by a fixed pattern of multipliers so that some targets
are met and some missed. The quote win rate target is 38% every month. Rounded the way people
write targets. Idempotent: months that already have a target are left alone.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from metrics.periods import add_months, fiscal_year_start, local_midnight, parse_state
from metrics.queries import compute_values
from targets.actions import invalidate_dashboards_on_commit
from targets.models import PeriodKind, Target

DEMO_METRICS = ("revenue", "kwh_deployed", "quote_win_rate", "new_customers")
WIN_RATE_TARGET = Decimal("0.38")
GROWTH = 1.10  # months not yet over: last year's same month grown by the recent trend, or this
TREND_LIMITS = (0.8, 1.6)
# Above 1 the month has to beat its actual (missed); below 1 it is met. Fixed, so reseeding
# any database gives the same targets for the same actuals.
MULTIPLIERS = (0.94, 1.08, 0.97, 1.12, 0.90, 1.05, 1.00, 1.15, 0.93, 1.03, 0.98, 1.10)


def nice_round(metric: str, value: float) -> Decimal | None:
    """Round a target the way a manager would type it; None when nothing sensible remains."""
    if value <= 0:
        return None
    if metric == "revenue":  # cents → whole $1,000 (whole $100 for small months)
        step = 100_000 if value >= 1_000_000 else 10_000
    elif metric == "kwh_deployed":
        step = 10 if value >= 100 else 1
    else:
        step = 1
    rounded = (Decimal(value) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    return max(Decimal(step), rounded)


def _trend(actual: dict, months: list[dt.date], finished: dict, metric: str) -> float:
    """Growth of the last three finished months over the same months a year before."""
    recent = [m for m in months if finished[m] and add_months(m, -12) in actual][-3:]
    now = sum(float(actual[m].get(metric) or 0) for m in recent)
    before = sum(float(actual[add_months(m, -12)].get(metric) or 0) for m in recent)
    if not recent or before <= 0:
        return GROWTH
    low, high = TREND_LIMITS
    return min(high, max(low, now / before))


def seed_demo_targets(organization, now: dt.datetime | None = None) -> int:
    """Create the demo's monthly targets; returns how many were created."""
    now = now or timezone.now()
    tz = organization.tz
    this_fy = fiscal_year_start(now.astimezone(tz).date(), organization.fiscal_year_start_month)
    months = [add_months(this_fy, i) for i in range(-12, 12)]
    actual: dict[dt.date, dict] = {}
    finished: dict[dt.date, bool] = {}
    for month in months:
        end = add_months(month, 1) - dt.timedelta(days=1)
        finished[month] = local_midnight(end + dt.timedelta(days=1), tz) <= now
        if local_midnight(month, tz) >= now:
            continue
        state = parse_state(
            {"from": month.isoformat(), "to": end.isoformat(), "compare": "none"},
            organization,
            now=now,
        )
        keys = [k for k in DEMO_METRICS if k != "quote_win_rate"]
        actual[month] = {k: v for k, (v, _) in compute_values(organization, state, keys).items()}

    trend = {k: _trend(actual, months, finished, k) for k in DEMO_METRICS}
    existing = set(
        Target.objects.for_org(organization)
        .org_wide()
        .filter(period_kind=PeriodKind.MONTH, period_start__in=months, metric__in=DEMO_METRICS)
        .values_list("metric", "period_start")
    )
    new = []
    for i, month in enumerate(months):
        multiplier = MULTIPLIERS[i % len(MULTIPLIERS)]
        for metric in DEMO_METRICS:
            if (metric, month) in existing:
                continue
            value: Decimal | None
            if metric == "quote_win_rate":
                value = WIN_RATE_TARGET
            else:
                if finished[month]:
                    base = float(actual[month][metric] or 0)
                else:
                    last_year = actual.get(add_months(month, -12), {}).get(metric)
                    base = float(last_year or 0) * trend[metric]
                value = nice_round(metric, base * multiplier)
            if value is None:
                continue
            new.append(
                Target(
                    organization=organization,
                    metric=metric,
                    period_kind=PeriodKind.MONTH,
                    period_start=month,
                    value=value,
                )
            )
    with transaction.atomic():
        for target in new:
            target.full_clean(validate_constraints=False)
        Target.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            invalidate_dashboards_on_commit(organization)
    return len(new)
