"""`{% follow_control metric state %}`: the follow / unfollow control of a KPI card
(docs/digests.md, "Follow"). The user's follows are read once per request, however many cards
a page has.

The control is spelled here in Python (`control_html`), not in a template: a dashboard draws
one per card on every page, cached pages included, and nine inclusion-tag renders were about
2 ms of a cached page's 10 ms budget (docs/scaling.md, "Issue 25, third stop")."""

from __future__ import annotations

from django import template
from django.middleware.csrf import get_token
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from alerts.queries import followed_cards
from metrics.definitions import METRICS
from metrics.filters import applies_to_metric

register = template.Library()

STAR = mark_safe(  # a constant drawing
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2.8l2.8 5.8 6.3.9-4.6 4.4 '
    '1.1 6.3L12 17.2l-5.6 3 1.1-6.3-4.6-4.4 6.3-.9z"/></svg>'
)


def _followed(request) -> set:
    cached = getattr(request, "_followed_cards", None)
    if cached is None:
        cached = followed_cards(request.user)
        request._followed_cards = cached
    return cached


# Controls as spelled, around their CSRF token, by everything else they show: a dashboard
# draws the same nine for every page of a user and state, so each process keeps the last few
# hundred (no round trip; the key names the whole content, so no entry is ever stale).
_CONTROLS: dict[tuple, tuple[str, str]] = {}
CONTROLS_KEPT = 512
# Stands for the token while a control is spelled once; a masked CSRF token is letters and
# digits, so it reads the same escaped or not.
_CSRF_SLOT = "__renoz_follow_csrf__"


def control_html(
    request, metric, filters, *, following: bool, next_url: str, csrf_token=None
) -> str:
    """The card's follow form: one click follows `metric` with the card's `filters` (pairs),
    or unfollows it; htmx swaps the answer (this same form) in its place. Spelled once per
    process for what it shows (`_spelled`), the page's token put in its place: format_html's
    escapes were most of a cached page's controls (docs/scaling.md, "Issue 25")."""
    token = csrf_token or get_token(request)
    filters = tuple(filters)
    key = (get_script_prefix(), metric.key, filters, following, next_url)
    parts = _CONTROLS.get(key)
    if parts is None:
        if len(_CONTROLS) >= CONTROLS_KEPT:
            _CONTROLS.clear()
        spelled = _spelled(metric, filters, following=following, next_url=next_url)
        # Tricky: the first slot is the token's (the form's action comes before it and is
        # ours); a page URL (next) may hold the slot's text too, and stays as it was.
        before, _, after = spelled.partition(_CSRF_SLOT)
        parts = _CONTROLS[key] = (before, after)
    return mark_safe(parts[0] + conditional_escape(token) + parts[1])  # noqa: S308 - escaped


def _spelled(metric, filters, *, following: bool, next_url: str) -> str:
    """control_html's form with _CSRF_SLOT where the CSRF token goes."""
    action = reverse("alerts-follow")
    verb = "Unfollow" if following else "Follow"
    title = (
        f"Following {metric.label}: in your digest. Click to unfollow"
        if following
        else f"Follow {metric.label} in your digest"
    )
    return format_html(
        '<form class="kpi-follow{}" method="post" action="{}" hx-post="{}" hx-target="this" '
        'hx-swap="outerHTML">\n'
        '  <input type="hidden" name="csrfmiddlewaretoken" value="{}">\n'
        '  <input type="hidden" name="metric" value="{}">{}\n'
        '  <input type="hidden" name="next" value="{}">\n'
        '  <button type="submit" aria-label="{} {}" title="{}">{}</button>\n'
        "</form>",
        " is-following" if following else "",
        action,
        action,
        _CSRF_SLOT,
        metric.key,
        format_html_join(
            "", '\n  <input type="hidden" name="{}" value="{}">', ((n, v) for n, v in filters)
        ),
        next_url,
        verb,
        metric.label,
        title,
        STAR,
    )


@register.simple_tag(takes_context=True)
def follow_control(context, key, state) -> str:
    """The control of the card of metric `key` in `state` (a DashboardState: its filters).

    Tricky: it is rendered beside the card's body, never inside it, because a card's body is
    a rendered fragment shared by everyone who reads the same number (dashboard.views), and
    this control is the user's own (their follow, their CSRF token)."""
    return card_control(
        context.get("request"),
        key,
        state,
        csrf_token=context.get("csrf_token"),  # masked once for the whole page
    )


def card_control(request, key, state, *, csrf_token=None) -> str:
    """follow_control's HTML, for a page that spells its cards in Python (dashboard.views)."""
    user = getattr(request, "user", None)
    metric = METRICS.get(key or "")
    filters = tuple(getattr(state, "filters", ()) or ())
    if user is None or not user.is_authenticated or metric is None:
        return ""
    if not applies_to_metric(filters, metric):
        return ""  # the card says it cannot be filtered so; nothing to follow
    card = (metric.key, tuple(sorted(filters)))
    return control_html(
        request,
        metric,
        filters,
        following=card in _followed(request),
        next_url=request.get_full_path(),
        csrf_token=csrf_token,
    )
