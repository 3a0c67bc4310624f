"""The scheduled-report form: every field validated with a message that says what to do."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from infra import validation
from metrics.periods import COMPARISONS, PRESETS
from presentation.wording import exact_time
from reports.content import widget_allowed, widget_choices
from reports.models import MAX_RECIPIENTS, WEEKDAYS, Cadence, Compare, ScheduledReport
from reports.schedule import next_slots

COMMON_TIMEZONES = [
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Adelaide",
    "Australia/Darwin",
    "Australia/Perth",
    "Australia/Hobart",
    "Pacific/Auckland",
    "Asia/Singapore",
    "UTC",
]
_SPLIT = re.compile(r"[\s,;]+")


def parse_recipients(raw) -> list[str]:
    """Addresses from text (commas, semicolons, spaces or new lines) or a list; duplicates
    (any case) dropped, order kept."""
    items = raw if isinstance(raw, list) else _SPLIT.split(str(raw or ""))
    seen: dict[str, str] = {}
    for item in items:
        address = str(item).strip()
        if address and address.lower() not in seen:
            seen[address.lower()] = address
    return list(seen.values())


class RecipientsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        return parse_recipients(value)

    def validate(self, value):
        if not value:
            raise ValidationError("Add at least one e-mail address.", code="required")
        bad = []
        for address in value:
            try:
                validation.validate_email_address(address)
            except ValidationError:
                bad.append(address)
        if bad:
            shown = ", ".join(f"“{b[:60]}”" for b in bad[:5])
            raise ValidationError(
                f"Not a valid e-mail address: {shown}. Write one address per line, like "
                "name@example.com.",
                code="invalid",
            )
        if len(value) > MAX_RECIPIENTS:
            raise ValidationError(
                f"{len(value)} recipients is too many; a report goes to at most "
                f"{MAX_RECIPIENTS}. Use a mailing list address for a larger group.",
                code="max",
            )

    def run_validators(self, value):
        return None


class ReportForm(forms.ModelForm):
    recipients = RecipientsField(
        help_text="One address per line (or separated by commas); up to 50."
    )
    timezone = forms.CharField(
        label="Time zone",
        max_length=64,
        help_text="IANA name, e.g. Australia/Perth. Defaults to the organisation's.",
        widget=forms.TextInput(attrs={"list": "tz-options", "autocomplete": "off"}),
    )
    weekday = forms.TypedChoiceField(
        label="Day of the week",
        choices=[("", "—"), *WEEKDAYS],
        coerce=int,
        required=False,
        empty_value=None,
    )
    month_day = validation.IntegerField(
        label="Day of the month",
        required=False,
        help_text="1 to 28, so every month has it.",
        widget=forms.NumberInput(attrs={"min": 1, "max": 28}),
    )
    range_preset = forms.CharField(label="Date range")
    compare = forms.CharField(label="Compare with")
    send_time = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Local time in the report's time zone.",
        error_messages={"invalid": "Enter a time as HH:MM, e.g. 08:00."},
    )
    widgets = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to print the owner's dashboard layout.",
    )
    owner: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=User.objects.none(),
        help_text="The report shows the dashboard as this person sees it.",
        error_messages={"invalid_choice": "Choose a person from your organisation."},
    )

    class Meta:
        model = ScheduledReport
        fields = [
            "name",
            "owner",
            "recipients",
            "cadence",
            "weekday",
            "month_day",
            "send_time",
            "timezone",
            "range_preset",
            "compare",
            "widgets",
        ]
        error_messages = {"name": {"required": "Give the report a name."}}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        # The name is a mail subject: CR/LF there fails every delivery (BadHeaderError).
        validation.harden_form_fields(self.fields)
        self.fields["owner"].queryset = organization.users.filter(is_active=True).order_by(
            "full_name", "email"
        )
        self.fields["cadence"].error_messages["invalid_choice"] = "Choose daily, weekly or monthly."
        self.fields["widgets"].choices = widget_choices()
        self.fields["widgets"].error_messages["invalid_choice"] = (
            "“%(value)s” is not a widget of the dashboard catalogue."
        )
        if not self.initial.get("timezone"):
            self.initial["timezone"] = organization.timezone

    @property
    def preset_choices(self):
        return list(PRESETS.items())

    @property
    def compare_choices(self):
        return Compare.choices

    @property
    def widget_groups(self) -> list[dict]:
        chosen = set(self["widgets"].value() or [])
        return [
            {
                "label": label,
                "items": [{"value": v, "label": t, "checked": v in chosen} for v, t in items],
            }
            for label, items in widget_choices()
        ]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the report a name.")
        return name

    def clean_timezone(self):
        value = (self.cleaned_data.get("timezone") or "").strip() or self.organization.timezone
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"“{value[:64]}” is not a time zone. Use an IANA name such as Australia/Sydney."
            ) from None
        return value

    def clean_month_day(self):
        day = self.cleaned_data.get("month_day")
        if day is not None and not 1 <= day <= 28:
            raise ValidationError(
                f"Day {day} is not in every month. Choose a day from 1 to 28 (for the end of "
                f"the month, send on the 1st with the range “{PRESETS['last_month']}”)."
            )
        return day

    def clean_range_preset(self):
        value = self.cleaned_data["range_preset"]
        if value not in PRESETS:
            raise ValidationError(
                f"Unknown date range “{value[:40]}”. Choose one of: {', '.join(PRESETS.values())}."
            )
        return value

    def clean_compare(self):
        value = self.cleaned_data["compare"]
        if value not in Compare.values:
            raise ValidationError(
                f"Unknown comparison “{value[:40]}”. Choose one of: "
                f"{', '.join(COMPARISONS.values())}."
            )
        return value

    def clean(self):
        data = super().clean()
        cadence = data.get("cadence")
        if cadence == Cadence.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", "Choose the day of the week a weekly report goes out.")
        if (
            cadence == Cadence.MONTHLY
            and data.get("month_day") is None
            and not self.has_error("month_day")
        ):
            self.add_error("month_day", "Choose the day of the month (1–28) it goes out.")
        if cadence != Cadence.WEEKLY:
            data["weekday"] = None
        if cadence != Cadence.MONTHLY:
            data["month_day"] = None
        owner = data.get("owner")
        if owner is not None:
            refused = [w for w in data.get("widgets") or [] if not widget_allowed(w, owner)]
            if refused:
                self.add_error(
                    "widgets",
                    f"{owner} may not see {', '.join(refused)}; the report shows what its owner "
                    "may see.",
                )
        return data

    def next_sends(self, now: dt.datetime, count: int = 3) -> list[str]:
        """The next send times as the form stands, in the report's local time."""
        return next_sends_for(self.data if self.is_bound else None, self.instance, now, count)


def next_sends_for(data, instance, now: dt.datetime, count: int = 3) -> list[str]:
    """Next send times from (possibly incomplete) form data, for the live preview."""
    probe = (
        ScheduledReport(organization=instance.organization) if instance.organization_id else None
    )
    if probe is None:
        return []
    source = data if data is not None else None
    try:
        probe.cadence = (source.get("cadence") if source else instance.cadence) or "daily"
        raw_time = source.get("send_time") if source else instance.send_time.strftime("%H:%M")
        probe.send_time = dt.time.fromisoformat(str(raw_time)[:5])
        probe.timezone = (
            (source.get("timezone") if source else instance.timezone)
            or instance.organization.timezone
        ).strip()
        zoneinfo.ZoneInfo(probe.timezone)
        weekday = source.get("weekday") if source else instance.weekday
        month_day = source.get("month_day") if source else instance.month_day
        probe.weekday = int(weekday) if weekday not in (None, "") else 0
        probe.month_day = int(month_day) if month_day not in (None, "") else 1
        if probe.cadence not in Cadence.values or not 1 <= probe.month_day <= 28:
            return []
        if not 0 <= probe.weekday <= 6:
            return []
    except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError):
        return []
    tz = probe.tz
    return [exact_time(slot, tz, zone=True) for slot in next_slots(probe, now, count)]
