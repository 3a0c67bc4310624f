"""The one validation of an annotation, shared by the form, the JSON API and the CSV import
(docs/annotations.md, "Rules").

Times are written as a local date (`2026-03-03`), a local date and time (`2026-03-03T14:30`)
or an instant with its offset (`2026-03-03T14:30:00+10:00`), in the organisation's timezone.
A date alone as the end of a span means the end of that day.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError

from annotations.models import MAX_NOTE, MAX_TAG, MAX_TAGS, MAX_TITLE
from infra.validation import control_characters, harden_form_fields
from metrics.definitions import METRICS
from metrics.filters import FILTERS, OWNER
from metrics.periods import MAX_RANGE_DAYS, in_bounds, local_midnight

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"
)
_TAG = re.compile(r"^[\w .&/+-]+$")

# Dimensions an annotation may name: every dashboard filter but the owner (a person).
DIMENSIONS = {name: spec for name, spec in FILTERS.items() if spec.dimension != OWNER}


def parse_instant(raw: str, tz: zoneinfo.ZoneInfo, *, end: bool = False) -> dt.datetime:
    """An instant from a date, a local date-time or an ISO instant; raises ValidationError."""
    raw = (raw or "").strip()
    try:
        if _DATE.match(raw):
            day = dt.date.fromisoformat(raw)
            if not in_bounds(day):
                raise ValidationError(f"{raw} is outside the years 2000–2099")
            if end:
                return local_midnight(day + dt.timedelta(days=1), tz) - dt.timedelta(seconds=1)
            return local_midnight(day, tz)
        if _DATETIME.match(raw):
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if value.tzinfo is None:
                value = value.replace(tzinfo=tz)
            if not in_bounds(value.astimezone(tz).date()):
                raise ValidationError(f"{raw} is outside the years 2000–2099")
            return value
    except ValueError:
        raise ValidationError(f"{raw[:40]!r} is not a real date or time") from None
    raise ValidationError(
        f"{raw[:40]!r} is not a time: write 2026-03-03, 2026-03-03T14:30 or "
        "2026-03-03T14:30:00+10:00"
    )


def parse_tags(raw) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, lower case, each once."""
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    tags: list[str] = []
    for item in items:
        tag = str(item).strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG or not _TAG.match(tag):
            raise ValidationError(
                f"Tag {tag[:40]!r}: use letters, digits, spaces and - . & / +, at most "
                f"{MAX_TAG} characters"
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags")
    return tags


def parse_dimension(raw: str) -> tuple[str, str]:
    """("state", "QLD") from "state=QLD"; ("", "") from nothing."""
    raw = (raw or "").strip()
    if not raw:
        return "", ""
    name, _, value = raw.partition("=")
    spec = DIMENSIONS.get(name.strip())
    if spec is None:
        raise ValidationError(
            f"Unknown dimension {name[:40]!r}. Accepted: {', '.join(DIMENSIONS)} as name=value"
        )
    value = value.strip()
    if value not in dict(spec.choices):
        accepted = ", ".join(v for v, _ in spec.choices)
        raise ValidationError(f"Unknown {spec.param} {value[:40]!r}. Accepted: {accepted}")
    return spec.param, value


def dimension_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [
        (f"{name}={value}", f"{spec.label}: {label}")
        for name, spec in DIMENSIONS.items()
        for value, label in spec.choices
    ]


class AnnotationForm(forms.Form):
    title = forms.CharField(max_length=MAX_TITLE)
    starts_at = forms.CharField(
        max_length=40, label="Starts", help_text="2026-03-03 or 2026-03-03T14:30"
    )
    ends_at = forms.CharField(
        max_length=40, required=False, label="Ends", help_text="Empty for a moment"
    )
    metric = forms.ChoiceField(required=False, label="Metric")
    # A CharField shown as a select, so a bad value gets parse_dimension's message.
    dimension = forms.CharField(required=False, max_length=70, label="Only where")
    note = forms.CharField(
        required=False, max_length=MAX_NOTE, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = forms.CharField(
        required=False, max_length=300, help_text="Comma-separated, e.g. weather, qld"
    )

    def __init__(self, *args, tz: zoneinfo.ZoneInfo, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz
        metric = self.fields["metric"]
        assert isinstance(metric, forms.ChoiceField)
        metric.choices = [("", "Every metric")] + [(m.key, m.label) for m in METRICS.values()]
        self.fields["dimension"].widget = forms.Select(choices=dimension_choices())
        harden_form_fields(self.fields)

    def clean_note(self) -> str:
        note = self.cleaned_data.get("note") or ""
        # A note may span lines, but carries no other control characters.
        if [c for c in control_characters(note) if c not in "\n\r\t"]:
            raise ValidationError("The note has control characters; use plain text")
        return note

    def clean_starts_at(self) -> dt.datetime:
        return parse_instant(self.cleaned_data.get("starts_at") or "", self.tz)

    def clean_ends_at(self) -> dt.datetime | None:
        raw = self.cleaned_data.get("ends_at") or ""
        return parse_instant(raw, self.tz, end=True) if raw.strip() else None

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data.get("tags") or "")

    def clean_dimension(self) -> tuple[str, str]:
        return parse_dimension(self.cleaned_data.get("dimension") or "")

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_at"), data.get("ends_at")
        if start is not None and end is not None:
            if end < start:
                self.add_error("ends_at", "The end is before the start; swap them")
            elif (end - start).days > MAX_RANGE_DAYS:
                self.add_error("ends_at", "A span is at most 10 years long")
        if data.get("metric") and data.get("dimension") and data["dimension"][0]:
            self.add_error("dimension", "Choose a metric or a dimension value, not both")
        return data

    def fields_for_action(self) -> dict:
        """The cleaned data as keyword arguments of annotations.actions."""
        data = self.cleaned_data
        dimension, value = data.get("dimension") or ("", "")
        return {
            "title": data["title"].strip(),
            "starts_at": data["starts_at"],
            "ends_at": data.get("ends_at"),
            "metric": data.get("metric") or "",
            "dimension": dimension,
            "dimension_value": value,
            "note": data.get("note") or "",
            "tags": data.get("tags") or [],
        }


def initial_for(annotation, tz: zoneinfo.ZoneInfo) -> dict:
    """An annotation as the form's initial values, in local time."""

    def local(value):
        return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {
        "title": annotation.title,
        "starts_at": local(annotation.starts_at),
        "ends_at": local(annotation.ends_at),
        "metric": annotation.metric,
        "dimension": f"{annotation.dimension}={annotation.dimension_value}"
        if annotation.dimension
        else "",
        "note": annotation.note,
        "tags": ", ".join(annotation.tags or []),
    }
