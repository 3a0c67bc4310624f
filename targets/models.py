"""Targets: the number an organisation (or one person) aims for in a month, quarter or year.

`value` is stored in the metric's own unit: AUD cents, kWh, a count, hours, or a ratio 0–1
for rate metrics. Forms take dollars and percentages and convert (targets.forms).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet
from metrics.definitions import METRICS, owned_metrics
from metrics.periods import (
    EARLIEST_DAY,
    LATEST_DAY,
    add_months,
    fiscal_year_label,
    fiscal_year_start,
    quarter_start,
)

MONTH_NAMES = (
    "January February March April May June July August September October November December"
)


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    FISCAL_YEAR = "fiscal_year", "Financial year"


# Smallest first: a range inside several target periods uses the smallest one.
PERIOD_KINDS_BY_SIZE = [PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.FISCAL_YEAR]
MONTHS_IN: dict[str, int] = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.FISCAL_YEAR: 12}

# Metrics a person can have a target for: the range and ratio metrics they own
# (metrics.definitions.owned_metrics); each has a per-user attribution in targets.queries.
PERSONAL_METRICS = owned_metrics("range", "ratio")
WHOLE_UNITS = ("aud_cents", "count")


def month_name(month: int) -> str:
    return MONTH_NAMES.split()[month - 1]


def period_bounds(kind: str, start: dt.date) -> tuple[dt.date, dt.date]:
    """Inclusive local dates of the target period that starts on `start`."""
    return start, add_months(start, MONTHS_IN[kind]) - dt.timedelta(days=1)


def period_label(kind: str, start: dt.date) -> str:
    """'Jul 2026', 'Jul–Sep 2026' or 'FY2027'."""
    if kind == PeriodKind.MONTH:
        return f"{start:%b %Y}"
    if kind == PeriodKind.QUARTER:
        last = add_months(start, 2)
        return f"{start:%b}–{last:%b %Y}"
    return fiscal_year_label(start)


def aligned_start(kind: str, day: dt.date, fiscal_start_month: int = 7) -> dt.date:
    """The start of the period of this kind that contains `day`."""
    if kind == PeriodKind.MONTH:
        return day.replace(day=1)
    if kind == PeriodKind.QUARTER:
        return quarter_start(day)
    return fiscal_year_start(day, fiscal_start_month)


def misaligned_start_message(kind: str, day: dt.date, fiscal_start_month: int = 7) -> str | None:
    """Why `day` cannot start a period of this kind, with the nearest valid start; or None."""
    suggestion = aligned_start(kind, day, fiscal_start_month)
    if suggestion == day:
        return None
    hint = f"Did you mean {suggestion:%-d %B %Y}?"
    if kind == PeriodKind.MONTH:
        return f"A monthly target starts on the 1st of a month. {hint}"
    if kind == PeriodKind.QUARTER:
        return f"A quarter starts on 1 January, 1 April, 1 July or 1 October. {hint}"
    return (
        f"This organisation's financial year starts on 1 {month_name(fiscal_start_month)}. {hint}"
    )


class TargetQuerySet(OrgQuerySet):
    def org_wide(self) -> Self:
        return self.filter(user__isnull=True)

    def for_person(self, user) -> Self:
        return self.filter(user=user)

    def starting_between(self, first: dt.date, last: dt.date) -> Self:
        return self.filter(period_start__gte=first, period_start__lte=last)


# Targets are business plans: far-past or far-future periods are typing mistakes, and the
# date arithmetic of a period (its end, last year's shape) must stay inside date's range.
# A target period starts within the dates anyone may ask about (metrics.periods).
FIRST_TARGET_DAY = EARLIEST_DAY
LAST_TARGET_DAY = LATEST_DAY.replace(day=1)


class Target(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=40, help_text="A metric key from the registry")
    period_kind = models.CharField(max_length=20, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="First local day of the period")
    value = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        help_text="In the metric's unit: AUD cents, kWh, count, hours, or a ratio 0–1",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Leave empty for an organisation-wide target",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TargetQuerySet.as_manager()

    class Meta:
        ordering = ["period_start", "period_kind", "metric"]
        indexes = [
            models.Index(fields=["organization", "period_start"], name="target_org_start"),
        ]
        constraints = [
            # Tricky: NULLs are distinct in a plain unique index, so org-wide targets (user
            # NULL) need their own partial constraint or duplicates would slip through.
            models.UniqueConstraint(
                fields=["organization", "metric", "period_kind", "period_start"],
                condition=Q(user__isnull=True),
                name="target_unique_org_wide",
                violation_error_message=(
                    "The organisation already has a target for this metric and period."
                ),
            ),
            models.UniqueConstraint(
                fields=["organization", "metric", "period_kind", "period_start", "user"],
                condition=Q(user__isnull=False),
                name="target_unique_personal",
                violation_error_message="This person already has a target for this metric and period.",
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="target_value_positive"),
            models.CheckConstraint(
                condition=Q(period_kind__in=PeriodKind.values), name="target_period_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(period_start__day=1), name="target_period_starts_on_first"
            ),
            models.CheckConstraint(
                condition=~Q(period_kind=PeriodKind.QUARTER)
                | Q(period_start__month__in=[1, 4, 7, 10]),
                name="target_quarter_aligned",
            ),
            models.CheckConstraint(
                condition=Q(period_start__gte=FIRST_TARGET_DAY, period_start__lte=LAST_TARGET_DAY),
                name="target_period_in_range",
            ),
        ]

    def __str__(self) -> str:
        who = f" · {self.user}" if self.user_id else ""
        return f"{self.metric_label} {self.period_label}{who}"

    @property
    def metric_label(self) -> str:
        metric = METRICS.get(self.metric)
        return metric.label if metric else self.metric

    @property
    def unit(self) -> str | None:
        metric = METRICS.get(self.metric)
        return metric.unit if metric else None

    @property
    def fiscal_start_month(self) -> int:
        return self.organization.fiscal_year_start_month if self.organization_id else 7

    @property
    def period_end(self) -> dt.date:
        return period_bounds(self.period_kind, self.period_start)[1]

    @property
    def period_label(self) -> str:
        return period_label(self.period_kind, self.period_start)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        metric = METRICS.get(self.metric)
        if metric is None:
            errors.setdefault("metric", []).append(
                f"Unknown metric {self.metric[:40]!r}. Choose one of: {', '.join(METRICS)}."
            )
        if self.period_kind in PeriodKind.values and self.period_start:
            message = misaligned_start_message(
                self.period_kind, self.period_start, self.fiscal_start_month
            )
            if message:
                errors.setdefault("period_start", []).append(message)
        if self.value is not None:
            value = Decimal(self.value)
            if value <= 0:
                errors.setdefault("value", []).append("Enter a target above zero.")
            elif metric and metric.unit == "ratio" and value > 1:
                errors.setdefault("value", []).append(
                    "A rate target is a ratio between 0 and 1 (100%)."
                )
            elif metric and metric.unit in WHOLE_UNITS and value != value.to_integral_value():
                what = "whole cents" if metric.unit == "aud_cents" else "a whole number"
                errors.setdefault("value", []).append(f"{metric.label} targets are {what}.")
        if self.user_id:
            if (
                self.organization_id
                and self.user is not None
                and self.user.organization_id != self.organization_id
            ):
                errors.setdefault("user", []).append("That person is not in this organisation.")
            elif metric and metric.key not in PERSONAL_METRICS:
                labels = ", ".join(METRICS[k].label for k in PERSONAL_METRICS)
                errors.setdefault("user", []).append(
                    f"{metric.label} cannot be attributed to one person. "
                    f"Personal targets are available for: {labels}."
                )
        if errors:
            raise ValidationError(errors)
