"""The rule form, for the screens (people type dollars and percent, as on the targets page) and
for the API (`api_units=True`: cents and 0–1 ratios, as `/api/dashboard/metrics` reads them).
Both go through the same checks."""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import QueryDict

from accounts.permissions import is_admin
from alerts.models import (
    MAX_RECIPIENTS,
    METRIC_CONDITIONS,
    AlertRule,
    Condition,
    DigestSettings,
    TargetLevel,
)
from alerts.webhooks import WebhookRefused, check_url
from metrics.definitions import METRICS
from metrics.filters import (
    BAR_FILTERS,
    FILTERS,
    InvalidFilter,
    not_applying,
    owner_choices,
    parse_filters,
)
from targets.forms import INPUT_UNITS, metric_choices, to_input, to_stored

_SPLIT = re.compile(r"[\s,;]+")
FILTER_PARAMS = tuple(FILTERS)  # the bar's filters and the chart-click ones


def parse_recipients(raw) -> list[str]:
    items = raw if isinstance(raw, list) else _SPLIT.split(str(raw or ""))
    out: dict[str, str] = {}
    for item in items:
        address = str(item).strip()
        if address:
            out.setdefault(address.lower(), address)
    return list(out.values())


def input_unit(metric_key: str, condition: str) -> str:
    """The unit a person types a threshold in: percent for changes, else the metric's."""
    if condition in ("change_up_pct", "change_down_pct"):
        return "percent"
    return METRICS[metric_key].unit if metric_key in METRICS else "count"


class RuleForm(forms.ModelForm):
    metric = forms.ChoiceField(choices=metric_choices())
    condition = forms.ChoiceField(
        choices=[(c.value, c.label) for c in METRIC_CONDITIONS], initial="below"
    )
    threshold = forms.CharField(
        required=False,
        help_text="Dollars for money, % for rates and changes, as the dashboard shows them.",
    )
    resolve_threshold = forms.CharField(
        required=False,
        label="Resolve at",
        help_text="Optional: once firing, it resolves only when the number is back past this.",
    )
    recipients = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="E-mail addresses, one per line.",
    )
    webhook_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Webhook URL",
        help_text="Optional: we POST signed JSON here. Only public addresses.",
    )
    state = forms.ChoiceField(required=False, label="Customer state")
    customer_kind = forms.ChoiceField(required=False, label="Customer kind")
    category = forms.ChoiceField(required=False, label="Product category")
    owner = forms.ChoiceField(required=False, label="Owner")
    stage = forms.ChoiceField(required=False, label="Pipeline stage")
    claim_kind = forms.ChoiceField(required=False, label="Claim kind")

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "metric",
            "condition",
            "threshold",
            "target_status",
            "resolve_threshold",
            "range_preset",
            "compare",
            "pending_checks",
            "recipients",
            "webhook_url",
            "active",
        ]
        labels = {
            "range_preset": "Range",
            "compare": "Compare with",
            "pending_checks": "Breaches in a row before it fires",
            "webhook_url": "Webhook URL",
            "target_status": "Target status",
        }

    def __init__(self, *args, user, api_units: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.api_units = api_units
        org = user.organization

        for name in FILTER_PARAMS:
            spec = FILTERS[name]
            choices = owner_choices(org) if name == "owner" else list(spec.choices)
            self.fields[name].choices = [("", "Any")] + list(choices)  # type: ignore[attr-defined]
            if self.instance.pk and not self.is_bound:
                self.initial[name] = (self.instance.filters or {}).get(name, "")
        self.fields["target_status"].required = False
        self.fields["target_status"].choices = [  # type: ignore[attr-defined]
            ("", "— (only for “target status is”)"),
            *TargetLevel.choices,
        ]
        if self.instance.pk and not self.is_bound and not api_units:
            unit = input_unit(self.instance.metric, self.instance.condition)
            for name in ("threshold", "resolve_threshold"):
                value = getattr(self.instance, name)
                if value is not None:
                    self.initial[name] = to_input(unit, Decimal(str(value)))
            self.initial["recipients"] = "\n".join(self.instance.recipients)
        if not self.instance.pk and not self.is_bound and not self.initial.get("recipients"):
            self.initial["recipients"] = user.email

    bar_filters = BAR_FILTERS

    def filter_fields(self):
        return [self[name] for name in FILTER_PARAMS]

    def _number(self, name: str, unit: str):
        raw = self.cleaned_data.get(name)
        if raw in (None, ""):
            return None
        try:
            amount = Decimal(str(raw).replace(",", "").replace("$", "").replace("%", "").strip())
        except InvalidOperation:
            self.add_error(name, "Write a number, like 1500 or 12.5")
            return None
        if not amount.is_finite() or abs(amount) > Decimal("1e15"):
            self.add_error(name, "That number is out of range")
            return None
        if self.api_units or unit == "percent":
            return float(amount)
        return float(to_stored(unit, amount))

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise ValidationError("Give the alert a name.")
        return name[:200]

    def clean_recipients(self):
        addresses = parse_recipients(self.cleaned_data.get("recipients"))
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address[:60])
        if bad:
            raise ValidationError(f"Not a valid e-mail address: {', '.join(bad[:5])}")
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(f"At most {MAX_RECIPIENTS} recipients")
        if not is_admin(self.user):
            others = [a for a in addresses if a.lower() != self.user.email.lower()]
            if others:
                raise ValidationError(
                    "Your alerts go to your own address only; an administrator can add others."
                )
        return addresses

    def clean_webhook_url(self):
        url = (self.cleaned_data.get("webhook_url") or "").strip()
        if url:
            try:
                check_url(url)
            except WebhookRefused as exc:
                raise ValidationError(str(exc)) from None
        return url

    def clean(self):
        data = super().clean()
        metric_key = data.get("metric") or ""
        condition = data.get("condition") or ""
        unit = input_unit(metric_key, condition)
        data["threshold"] = self._number("threshold", unit)
        data["resolve_threshold"] = self._number("resolve_threshold", unit)
        threshold, resolve = data["threshold"], data["resolve_threshold"]
        if condition == Condition.TARGET_STATUS:
            if not data.get("target_status"):
                self.add_error("target_status", "Choose which target status fires the alert.")
            data["threshold"] = data["resolve_threshold"] = None
        else:
            data["target_status"] = ""
            if threshold is None and "threshold" not in self.errors:
                self.add_error("threshold", "Give the line the number must cross.")
            if condition in ("change_up_pct", "change_down_pct"):
                if data.get("compare") == "none":
                    self.add_error("compare", "A change needs something to compare with.")
                if threshold is not None and threshold < 0:
                    self.add_error("threshold", "Give the size of the change, a positive %.")
            if unit == "ratio" and self.api_units and threshold is not None and abs(threshold) > 1:
                self.add_error("threshold", "Rates are ratios from 0 to 1 in the API (0.38 = 38%).")
        if threshold is not None and resolve is not None:
            wrong = {
                "above": resolve > threshold,
                "below": resolve < threshold,
                "change_up_pct": resolve > threshold,
                "change_down_pct": resolve > threshold,
            }.get(condition, False)
            if wrong:
                self.add_error(
                    "resolve_threshold",
                    "The resolve line must lie on the good side of the threshold "
                    "(below it for 'above' and rises, above it for 'below', smaller for falls).",
                )
        params = QueryDict(mutable=True)
        for name in FILTER_PARAMS:
            if data.get(name):
                params[name] = data[name]
        try:
            filters = parse_filters(params, self.user.organization)
        except InvalidFilter as exc:
            self.add_error(None, str(exc))
            filters = ()
        if filters and metric_key in METRICS:
            missing = not_applying(filters, [METRICS[metric_key].source])
            if missing:
                names = ", ".join(f.label.lower() for f in missing)
                self.add_error(None, f"{METRICS[metric_key].label} cannot be filtered by {names}.")
            if condition == Condition.TARGET_STATUS:
                self.add_error(None, "Targets are set for the whole organisation: remove filters.")
        data["filters"] = dict(filters)
        if not data.get("recipients") and not data.get("webhook_url"):
            self.add_error("recipients", "Add an e-mail address or a webhook URL.")
        return data

    def save(self, commit=True):
        rule = super().save(commit=False)
        rule.threshold = self.cleaned_data["threshold"]
        rule.resolve_threshold = self.cleaned_data["resolve_threshold"]
        rule.target_status = self.cleaned_data.get("target_status") or ""
        rule.filters = self.cleaned_data["filters"]
        rule.recipients = self.cleaned_data["recipients"]
        if commit:
            rule.save()
        return rule

    def unit_hint(self) -> str:
        metric = self["metric"].value() or ""
        condition = self["condition"].value() or ""
        unit = input_unit(metric, condition)
        return "%" if unit == "percent" else INPUT_UNITS.get(unit, ("", 0))[0]


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class DigestSettingsForm(forms.ModelForm):
    """How often the digest comes, at what local time (weekly: on which day), in which zone."""

    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Day (weekly)")
    timezone = forms.ChoiceField(label="Time zone", required=False)

    class Meta:
        model = DigestSettings
        fields = ["cadence", "send_time", "weekday", "timezone"]
        labels = {"cadence": "Digest", "send_time": "Send at (local time)"}
        widgets = {"send_time": forms.TimeInput(attrs={"type": "time", "step": 900})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        org = self.instance.organization
        zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z)
        self.fields["timezone"].choices = [("", f"The organisation's ({org.timezone})")] + [
            (z, z.replace("_", " ")) for z in zones
        ]
