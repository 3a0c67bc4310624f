"""Writes to targets: the one place that changes them and invalidates cached dashboards.

Each action validates the rows it writes (Target.full_clean) and, once the transaction
commits, bumps the organisation's dashboard data version so cached KPI cards that carry
target progress are never served stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction

from metrics.cache import bump_data_version
from metrics.definitions import METRICS
from metrics.periods import add_months
from targets.models import PeriodKind, Target, period_bounds


def invalidate_dashboards_on_commit(organization) -> None:
    transaction.on_commit(partial(bump_data_version, organization.pk, ["targets"]))


def do_create_target(
    organization, *, metric: str, period_kind: str, period_start: dt.date, value, user=None
) -> Target:
    """Create one validated target."""
    target = Target(
        organization=organization,
        metric=metric,
        period_kind=period_kind,
        period_start=period_start,
        value=Decimal(value),
        user=user,
    )
    with transaction.atomic():
        target.full_clean()
        target.save()
        invalidate_dashboards_on_commit(organization)
    return target


def do_update_target(target: Target, **changes) -> Target:
    """Change fields of a target (metric, period_kind, period_start, value, user)."""
    allowed = {"metric", "period_kind", "period_start", "value", "user"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"Cannot change {', '.join(sorted(unknown))} of a target")
    for name, value in changes.items():
        setattr(target, name, value)
    with transaction.atomic():
        target.full_clean()
        target.save()
        invalidate_dashboards_on_commit(target.organization)
    return target


def do_delete_target(target: Target) -> None:
    with transaction.atomic():
        organization = target.organization
        target.delete()
        invalidate_dashboards_on_commit(organization)


@dataclass
class WriteSummary:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted


def do_save_month_targets(
    organization, *, metric: str, values: dict[dt.date, Decimal | None], user=None
) -> WriteSummary:
    """Set monthly targets of one metric: a value creates or updates, None deletes."""
    summary = WriteSummary()
    existing = {
        t.period_start: t
        for t in Target.objects.for_org(organization).filter(
            metric=metric, period_kind=PeriodKind.MONTH, period_start__in=list(values), user=user
        )
    }
    with transaction.atomic():
        for start, value in sorted(values.items()):
            target = existing.get(start)
            if value is None:
                if target is not None:
                    target.delete()
                    summary.deleted += 1
                continue
            if target is None:
                target = Target(
                    organization=organization,
                    metric=metric,
                    period_kind=PeriodKind.MONTH,
                    period_start=start,
                    user=user,
                )
                summary.created += 1
            elif target.value == value:
                summary.unchanged += 1
                continue
            else:
                summary.updated += 1
            target.value = value
            target.full_clean()
            target.save()
        if summary.changed:
            invalidate_dashboards_on_commit(organization)
    return summary


def uplifted(metric_key: str, value: Decimal, uplift_pct: Decimal) -> Decimal:
    """`value` raised by `uplift_pct` percent, rounded the way people write targets."""
    if not uplift_pct:
        return value
    unit = METRICS[metric_key].unit
    raised = value * (1 + uplift_pct / 100)
    if unit == "aud_cents":  # whole dollars
        return (raised / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * 100
    if unit == "count":
        return max(Decimal(1), raised.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if unit == "ratio":
        return min(Decimal(1), raised.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    return raised.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def do_copy_fiscal_year_targets(
    organization,
    *,
    from_start: dt.date,
    to_start: dt.date,
    uplift_pct: Decimal = Decimal(0),
    metrics: list[str] | None = None,
    overwrite: bool = False,
) -> WriteSummary:
    """Copy every target of one financial year into another, shifted by whole years.

    Targets that already exist in the destination are left alone unless `overwrite`.
    """
    months = (to_start.year - from_start.year) * 12 + (to_start.month - from_start.month)
    source = Target.objects.for_org(organization).starting_between(
        from_start, period_bounds(PeriodKind.FISCAL_YEAR, from_start)[1]
    )
    if metrics:
        source = source.filter(metric__in=metrics)
    destination = {
        (t.metric, t.period_kind, t.period_start, t.user_id): t
        for t in Target.objects.for_org(organization).starting_between(
            to_start, period_bounds(PeriodKind.FISCAL_YEAR, to_start)[1]
        )
    }
    summary = WriteSummary()
    with transaction.atomic():
        for original in source:
            if original.metric not in METRICS:
                summary.skipped += 1
                continue
            start = add_months(original.period_start, months)
            value = uplifted(original.metric, original.value, Decimal(uplift_pct))
            target = destination.get(
                (original.metric, original.period_kind, start, original.user_id)
            )
            if target is not None and (not overwrite or target.value == value):
                summary.unchanged += 1
                continue
            is_new = target is None
            if target is None:
                target = Target(
                    organization=organization,
                    metric=original.metric,
                    period_kind=original.period_kind,
                    period_start=start,
                    user_id=original.user_id,
                )
            target.value = value
            try:
                target.full_clean()
            except ValidationError:
                # e.g. a financial-year target after the organisation moved its fiscal start
                summary.skipped += 1
                continue
            target.save()
            if is_new:
                summary.created += 1
            else:
                summary.updated += 1
        if summary.changed:
            invalidate_dashboards_on_commit(organization)
    return summary
