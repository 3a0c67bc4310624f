"""The ask box's example question (docs/ask.md, "The box"): one the asker can be answered, in
their own scope. A technician sees their own jobs only (accounts.permissions), so their example
is about their own kWh, not the organisation's revenue they would be refused."""

from __future__ import annotations

from django import template

from accounts.permissions import sees_own_rows_only

register = template.Library()

EXAMPLE = "e.g. revenue in NSW last quarter vs last year"
OWN_EXAMPLE = "e.g. my kWh deployed this month"


@register.simple_tag(takes_context=True)
def ask_example(context) -> str:
    user = context.get("user")
    return OWN_EXAMPLE if user is not None and sees_own_rows_only(user) else EXAMPLE
