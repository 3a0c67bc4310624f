"""Forms for targets. People type dollars and percentages; targets store cents and ratios."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import cast

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from infra import validation
from metrics.definitions import METRICS
from metrics.formatting import short
from metrics.periods import add_months, fiscal_year_label, fiscal_year_start
from targets.models import (
    FIRST_TARGET_DAY,
    LAST_TARGET_DAY,
    PERSONAL_METRICS,
    PeriodKind,
    Target,
    misaligned_start_message,
    month_name,
    period_label,
)

# What a person types for each unit, and how many decimals make sense there.
INPUT_UNITS = {
    "aud_cents": ("AUD $, ex GST", 2),
    "kwh": ("kWh", 2),
    "count": ("count", 0),
    "ratio": ("%", 2),
    "hours": ("hours", 2),
}


def metric_choices(keys=None) -> list[tuple[str, str]]:
    keys = keys or list(METRICS)
    return [(k, f"{METRICS[k].label} ({INPUT_UNITS[METRICS[k].unit][0]})") for k in keys]


def to_stored(unit: str, amount: Decimal) -> Decimal:
    """What a person typed (dollars, %, kWh, count, hours) in the stored unit."""
    if unit == "aud_cents":
        return amount * 100
    if unit == "ratio":
        return amount / 100
    return amount


def to_input(unit: str, value: Decimal) -> Decimal:
    """A stored value as a person would type it."""
    if unit == "aud_cents":
        value = Decimal(value) / 100
    elif unit == "ratio":
        value = Decimal(value) * 100
    value = Decimal(value).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def amount_error(unit: str, label: str, amount: Decimal) -> str | None:
    """Why `amount` (as typed) cannot be a target for a metric of this unit; or None."""
    if amount <= 0:
        return "Enter a target above zero."
    places = INPUT_UNITS[unit][1]
    exponent = amount.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if unit == "ratio" and amount > 100:
        return "A rate is a percentage between 0 and 100."
    if places == 0 and decimals:
        return f"{label} targets are whole numbers."
    if decimals > places:
        what = "dollars and cents" if unit == "aud_cents" else "a number"
        return f"Enter {what} with at most {places} decimal places."
    return None


class AmountField(validation.DecimalField):
    """A decimal that forgives what people paste: '$150,000', '38.5 %', '1 250'."""

    default_error_messages = {"invalid": "Enter a number, like 150000 or 38.5."}

    MAX = Decimal(10) ** 12

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace("$", "").replace(",", "").replace("%", "").replace("_", "")
            value = "".join(value.split())
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        if value is not None and abs(value) >= self.MAX:
            raise ValidationError("That number is too large for a target.")


def _people(organization):
    return User.objects.filter(organization=organization, is_active=True).order_by(
        "full_name", "email"
    )


def fiscal_year_choices(organization, today: dt.date, extra=()) -> list[tuple[str, str]]:
    """Last, this and next financial year (plus any `extra` starts), newest first."""
    this = fiscal_year_start(today, organization.fiscal_year_start_month)
    starts = {add_months(this, -12), this, add_months(this, 12), *extra}
    return [(s.isoformat(), fiscal_year_option(s)) for s in sorted(starts, reverse=True)]


def fiscal_year_option(start: dt.date) -> str:
    end = add_months(start, 11)
    return f"{fiscal_year_label(start)} ({start:%b %Y} – {end:%b %Y})"


class TargetForm(forms.Form):
    """One target. Money is typed in dollars and rates in percent."""

    metric = forms.ChoiceField(label="Metric")
    period_kind = forms.ChoiceField(label="Period", choices=PeriodKind.choices)
    period_start = forms.DateField(
        label="Period starts",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD, like 2026-07-01."},
    )
    amount = AmountField(
        label="Target",
        help_text="Dollars (ex GST) for money, percent for rates, kWh for energy.",
    )
    user = forms.ModelChoiceField(
        label="Whose target",
        queryset=User.objects.none(),
        required=False,
        empty_label="Whole organisation",
        help_text="Personal targets count only that person's orders, quotes, jobs or activities.",
    )

    def __init__(self, *args, organization, instance: Target | None = None, **kwargs):
        self.organization = organization
        self.instance = instance or Target(organization=organization)
        self.duplicate: Target | None = None
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "metric": instance.metric,
                "period_kind": instance.period_kind,
                "period_start": instance.period_start,
                "amount": to_input(instance.unit or "count", instance.value),
                "user": instance.user_id,
            }
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["metric"]).choices = metric_choices()
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = _people(organization)
        self.fields["period_start"].help_text = (
            "The 1st of the month; a quarter starts 1 Jan, Apr, Jul or Oct; this "
            f"organisation's financial year starts 1 {month_name(organization.fiscal_year_start_month)}."
        )

    def clean(self):
        cleaned = super().clean()
        metric_key = cleaned.get("metric")
        amount = cleaned.get("amount")
        metric = METRICS.get(metric_key or "")
        value = None
        if metric and amount is not None:
            error = amount_error(metric.unit, metric.label, amount)
            if error:
                self.add_error("amount", error)
            else:
                value = to_stored(metric.unit, amount)
        # Checked here as well as in Target.clean so every problem shows in one round trip.
        kind, start = cleaned.get("period_kind"), cleaned.get("period_start")
        if kind and start:
            fiscal = self.organization.fiscal_year_start_month
            misaligned = misaligned_start_message(kind, start, fiscal)
            if not FIRST_TARGET_DAY <= start <= LAST_TARGET_DAY:
                misaligned = (
                    f"Choose a period between {FIRST_TARGET_DAY.year} and {LAST_TARGET_DAY.year}."
                )
            if misaligned:
                self.add_error("period_start", misaligned)
        if self.errors or value is None:
            return cleaned
        target = self.instance
        target.metric = metric_key
        target.period_kind = cleaned["period_kind"]
        target.period_start = cleaned["period_start"]
        target.value = value
        target.user = cleaned.get("user")
        try:
            target.full_clean(validate_constraints=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                name = {"value": "amount", "__all__": None}.get(field, field)
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
            return cleaned
        self.duplicate = (
            Target.objects.for_org(self.organization)
            .filter(
                metric=target.metric,
                period_kind=target.period_kind,
                period_start=target.period_start,
                user=target.user,
            )
            .exclude(pk=target.pk)
            .first()
        )
        if self.duplicate:
            whose = f"{target.user}'s" if target.user else "an organisation-wide"
            self.add_error(
                None,
                f"There is already {whose} {metric.label} target for "
                f"{period_label(target.period_kind, target.period_start)} "
                f"({short(self.duplicate.value, metric.unit)}). "
                "Edit that one instead of adding another.",
            )
        cleaned["value"] = value
        return cleaned


class BulkChooserForm(forms.Form):
    """Which metric, financial year and person the twelve-month grid is for."""

    metric = forms.ChoiceField(label="Metric")
    fiscal_year = forms.ChoiceField(label="Financial year")
    user = forms.ModelChoiceField(
        label="Whose targets",
        queryset=User.objects.none(),
        required=False,
        empty_label="Whole organisation",
    )

    def __init__(self, *args, organization, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        cast(forms.ChoiceField, self.fields["metric"]).choices = metric_choices()
        cast(forms.ChoiceField, self.fields["fiscal_year"]).choices = fiscal_year_choices(
            organization, today
        )
        cast(forms.ModelChoiceField, self.fields["user"]).queryset = _people(organization)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("user") and cleaned.get("metric") not in PERSONAL_METRICS:
            labels = ", ".join(METRICS[k].label for k in PERSONAL_METRICS)
            self.add_error(
                "user",
                f"{METRICS[cleaned['metric']].label} cannot be attributed to one person. "
                f"Personal targets are available for: {labels}.",
            )
        if cleaned.get("fiscal_year"):
            cleaned["fy_start"] = dt.date.fromisoformat(cleaned["fiscal_year"])
        return cleaned


class BulkMonthsForm(BulkChooserForm):
    """Twelve monthly targets of one metric in one financial year; a blank month removes it."""

    def __init__(self, *args, fy_start: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.months = [add_months(fy_start, i) for i in range(12)]
        for i, month in enumerate(self.months):
            self.fields[f"month_{i}"] = AmountField(label=f"{month:%b %Y}", required=False)

    def month_fields(self):
        return [self[f"month_{i}"] for i in range(12)]

    def clean(self):
        cleaned = super().clean()
        metric = METRICS.get(cleaned.get("metric") or "")
        if metric is None:
            return cleaned
        values: dict[dt.date, Decimal | None] = {}
        for i, month in enumerate(self.months):
            amount = cleaned.get(f"month_{i}")
            if amount is None:
                values[month] = None
                continue
            error = amount_error(metric.unit, metric.label, amount)
            if error:
                self.add_error(f"month_{i}", error)
            else:
                values[month] = to_stored(metric.unit, amount)
        cleaned["values"] = values
        return cleaned


class CopyYearForm(forms.Form):
    """Copy the previous financial year's targets into this one, raised by an uplift."""

    to_fiscal_year = forms.ChoiceField(label="Copy into")
    uplift_pct = AmountField(
        label="Uplift %",
        initial=Decimal(5),
        min_value=Decimal(-90),
        max_value=Decimal(500),
        help_text="Each copied target is raised by this percentage (negative lowers it). "
        "Money rounds to whole dollars, counts to whole numbers; rates stay at most 100%.",
    )
    metrics = forms.MultipleChoiceField(
        label="Metrics",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to copy every metric.",
    )
    overwrite = forms.BooleanField(
        label="Replace targets that already exist in the destination year",
        required=False,
    )

    def __init__(self, *args, organization, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        this = fiscal_year_start(today, organization.fiscal_year_start_month)
        starts = [this, add_months(this, 12)]
        cast(forms.ChoiceField, self.fields["to_fiscal_year"]).choices = [
            (s.isoformat(), f"{fiscal_year_option(s)} from {fiscal_year_label(add_months(s, -12))}")
            for s in starts
        ]
        cast(forms.MultipleChoiceField, self.fields["metrics"]).choices = [
            (k, METRICS[k].label) for k in METRICS
        ]

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("to_fiscal_year")
        if raw:
            to_start = dt.date.fromisoformat(raw)
            from_start = add_months(to_start, -12)
            cleaned["to_start"], cleaned["from_start"] = to_start, from_start
            source = Target.objects.for_org(self.organization).starting_between(
                from_start, add_months(from_start, 12) - dt.timedelta(days=1)
            )
            if cleaned.get("metrics"):
                source = source.filter(metric__in=cleaned["metrics"])
            if not source.exists():
                self.add_error(
                    None,
                    f"{fiscal_year_label(from_start)} has no targets to copy"
                    + (" for those metrics." if cleaned.get("metrics") else "."),
                )
        return cleaned
