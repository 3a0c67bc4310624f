"""Forms of the dashboard screen: the period controls and the layout edits."""

from __future__ import annotations

import re

from django import forms

from infra import validation
from metrics.periods import COMPARISONS, PRESETS, InvalidPeriod
from presentation.widgets import SIZES, catalogue_choices

CUSTOM = "custom"


def period_params(query) -> dict[str, str]:
    """The period part of a query, as metrics.periods.parse_state reads it.

    The controls form always sends range, from and to; "range=custom" means "use the dates",
    and a preset means "ignore them". A hand-written URL passes through unchanged, so
    parse_state can say exactly what is wrong with it. Raises InvalidPeriod.
    """
    out = {}
    preset = query.get("range", "")
    if preset == CUSTOM:
        out.update({"from": query.get("from", ""), "to": query.get("to", "")})
        if not (out["from"] and out["to"]):
            # Tricky: parse_state reads empty strings as "no custom range"; say what is missing.
            raise InvalidPeriod("Custom dates need both a 'from' and a 'to' date")
    elif preset:
        out["range"] = preset
    elif query.get("from") or query.get("to"):
        out.update({"from": query.get("from", ""), "to": query.get("to", "")})
    if query.get("compare"):
        out["compare"] = query["compare"]
    return out


def range_choices() -> list[tuple[str, str]]:
    return [*PRESETS.items(), (CUSTOM, "Custom dates…")]


def compare_choices() -> list[tuple[str, str]]:
    return list(COMPARISONS.items())


class AddWidgetForm(forms.Form):
    widget = forms.ChoiceField(choices=catalogue_choices)
    size = forms.ChoiceField(choices=list(SIZES.items()), required=False)

    def widget_spec(self) -> tuple[str, dict]:
        """(type, settings) of the chosen catalogue entry."""
        value = self.cleaned_data["widget"]
        widget_type, _, metric = value.partition(":")
        return widget_type, ({"metric": metric} if metric else {})


class ResizeForm(forms.Form):
    size = forms.ChoiceField(choices=list(SIZES.items()))


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    @property
    def offset(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


class ReorderForm(forms.Form):
    order = forms.CharField(max_length=33 * 40)

    def clean_order(self) -> list[str]:
        ids = [part for part in self.cleaned_data["order"].split(",") if part]
        if not ids or not all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids):
            raise forms.ValidationError("Give the widget ids, comma-separated")
        return ids


# A key the phone generates for one start or complete, sent again with every retry of it.
IDEMPOTENCY_KEY = r"^[A-Za-z0-9-]{8,64}$"


class JobActionForm(forms.Form):
    """A start or complete: the action's idempotency key (optional for plain form posts)."""

    idempotency_key = forms.RegexField(
        regex=IDEMPOTENCY_KEY,
        required=False,
        error_messages={"invalid": "The action key is not valid; reload the job page."},
    )


class CompleteJobForm(JobActionForm):
    """What a technician records when a job is done: the actual figures, then a confirmation
    (`confirm` is set only by the confirmation step's button)."""

    kwh = validation.DecimalField(
        label="kWh installed", min_value=0, max_value=99_999, decimal_places=2, max_digits=12
    )
    labor_hours = validation.DecimalField(
        label="Labour hours", min_value=0, max_value=999, decimal_places=2, max_digits=8
    )
    confirm = forms.BooleanField(required=False)
