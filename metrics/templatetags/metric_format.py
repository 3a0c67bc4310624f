"""Template filters over metrics.formatting: {{ value|metric:"aud_cents" }} gives the short
form, {{ value|metric_exact:"aud_cents" }} the exact one, {{ cents|aud }} a record's amount."""

from django import template

from metrics import formatting

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
