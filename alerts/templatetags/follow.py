"""`{% follow_control metric state %}`: the follow / unfollow control of a KPI card
(docs/digests.md, "Follow"). The user's follows are read once per request, however many cards
a page has."""

from __future__ import annotations

from django import template

from alerts.queries import followed_cards
from metrics.definitions import METRICS
from metrics.filters import applies_to_metric

register = template.Library()


def _followed(request) -> set:
    cached = getattr(request, "_followed_cards", None)
    if cached is None:
        cached = followed_cards(request.user)
        request._followed_cards = cached
    return cached


@register.inclusion_tag("alerts/_follow.html", takes_context=True)
def follow_control(context, key, state) -> dict:
    """The control of the card of metric `key` in `state` (a DashboardState: its filters).

    Tricky: it is rendered beside the card's body, never inside it, because a card's body is
    a rendered fragment shared by everyone who reads the same number (dashboard.views), and
    this control is the user's own (their follow, their CSRF token)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    metric = METRICS.get(key or "")
    filters = tuple(getattr(state, "filters", ()) or ())
    if user is None or not user.is_authenticated or metric is None:
        return {"show": False}
    if not applies_to_metric(filters, metric):
        return {"show": False}  # the card says it cannot be filtered so; nothing to follow
    card = (metric.key, tuple(sorted(filters)))
    return {
        "show": True,
        "metric": {"key": metric.key, "label": metric.label},
        "filters": filters,
        "following": card in _followed(request),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
