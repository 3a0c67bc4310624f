"""Template filters of the presentation vocabulary (docs/architecture.md, section "Presentation
vocabulary"): {{ value|metric:"aud_cents" }} is the short form, {{ value|metric_exact:"kwh" }}
the exact one, {{ cents|aud }} a record's amount, {{ instant|clock:tz }} "10:34 pm" and
{{ instant|moment:tz }} "Sat 5 Dec, 10:34 pm" (never Django's "p.m.")."""

from django import template
from django.utils import timezone

from metrics import formatting
from presentation import wording

register = template.Library()


@register.filter
def metric(value, unit: str) -> str:
    return formatting.short(value, unit)


@register.filter
def metric_exact(value, unit: str) -> str:
    return formatting.exact(value, unit)


@register.filter
def aud(cents) -> str:
    return formatting.format_aud(cents)


def _tz(tz):
    return timezone.get_current_timezone() if tz in (None, "") else tz


@register.filter
def clock(instant, tz=None) -> str:
    """The time of day: "10:34 pm" (in `tz`, else the active timezone)."""
    return wording.clock(instant, _tz(tz)) if instant else ""


@register.filter
def clock_zone(instant, tz=None) -> str:
    """The time of day with its zone: "10:34 pm AEDT"."""
    return wording.clock(instant, _tz(tz), zone=True) if instant else ""


@register.filter
def moment(instant, tz=None) -> str:
    """A weekday, date and time this year: "Sat 5 Dec, 10:34 pm"."""
    return wording.exact_time(instant, _tz(tz), year=False) if instant else ""
