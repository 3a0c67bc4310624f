"""`{% follow_control metric state %}`: the follow / unfollow control of a KPI card
(docs/digests.md, "Follow"). The user's follows are read once per request, however many cards
a page has."""

from __future__ import annotations

from django import template

from alerts.queries import followed_cards

register = template.Library()


def _followed(request) -> set:
    cached = getattr(request, "_followed_cards", None)
    if cached is None:
        cached = followed_cards(request.user)
        request._followed_cards = cached
    return cached


@register.inclusion_tag("alerts/_follow.html", takes_context=True)
def follow_control(context, metric, state) -> dict:
    """`metric` is the card's {"key", "label"}; `state` its DashboardState (its filters)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    filters = tuple(getattr(state, "filters", ()) or ())
    card = (metric["key"], tuple(sorted(filters)))
    return {
        "show": True,
        "metric": metric,
        "filters": filters,
        "following": card in _followed(request),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
