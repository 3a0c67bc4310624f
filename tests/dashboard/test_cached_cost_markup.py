"""A cached page's cheaper spelling (issue 25, docs/scaling.md) prints, byte for byte, what it
printed before: a card's follow control spelled once per process around the page's CSRF token
(alerts.templatetags.follow), a widget's section opened from a per-process memo and each
widget's own URL without reverse() per widget (dashboard.views). Each is compared with the old
spelling, kept here verbatim, on a real page: following and not, filtered and not."""

from __future__ import annotations

import re

import pytest
from django.middleware.csrf import _unmask_cipher_token, get_token
from django.test import RequestFactory
from django.urls import reverse, set_script_prefix
from django.utils.html import format_html, format_html_join

from alerts.queries import followed_cards
from alerts.templatetags.follow import STAR, control_html
from dashboard import views
from metrics.definitions import METRICS
from metrics.periods import parse_state
from tests.dashboard.test_page_cost import world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


def old_control_html(request, metric, filters, *, following, next_url, csrf_token=None) -> str:
    """alerts.templatetags.follow.control_html before this change, verbatim."""
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
        csrf_token or get_token(request),
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


def old_section(slot: dict, follow: str) -> str:
    """dashboard.views._sections' section before this change, verbatim."""
    return format_html(
        '<section class="widget size-{} kind-{}" id="w-{}" data-widget-id="{}" '
        'aria-labelledby="wt-{}">\n  {}\n  {}\n</section>',
        slot["size"],
        slot["kind"],
        slot["id"],
        slot["id"],
        slot["id"],
        slot["html"],
        follow,
    )


@pytest.mark.parametrize("following", [False, True])
@pytest.mark.parametrize(
    "filters", [(), (("customer_state", "NSW"),), (("owner", '7"><b>&'), ("zone", "<i>"))]
)
def test_a_follow_control_reads_as_before_spelled_or_remembered(rf, filters, following):
    request = rf.get("/dashboard/")
    metric = METRICS["revenue"]
    next_url = '/dashboard/?range=this_month&compare=previous_period&x="<y>'
    for _ in range(2):  # spelled, then from the memo
        token = get_token(request)
        ours = control_html(
            request, metric, filters, following=following, next_url=next_url, csrf_token=token
        )
        assert ours == old_control_html(
            request, metric, filters, following=following, next_url=next_url, csrf_token=token
        )
    # Another request's token, never the remembered one.
    other = rf.get("/dashboard/")
    mine = control_html(other, metric, filters, following=following, next_url=next_url)
    theirs = TOKEN.search(mine)[1]
    assert theirs != token
    assert _unmask_cipher_token(theirs) == other.META["CSRF_COOKIE"]


def test_a_page_url_holding_the_token_slot_is_spelled_as_it_came(rf):
    """Hostile input: a URL (the control's `next`) may hold the slot the token stands for."""
    request = rf.get("/dashboard/")
    metric = METRICS["revenue"]
    next_url = "/dashboard/?x=__renoz_follow_csrf__"
    token = get_token(request)
    for _ in range(2):
        ours = control_html(
            request, metric, (), following=False, next_url=next_url, csrf_token=token
        )
        assert ours == old_control_html(
            request, metric, (), following=False, next_url=next_url, csrf_token=token
        )


def _page(client, path: str):
    first = client.get(path)
    assert first.status_code == 200
    page = client.get(path)  # every widget body from the cache
    assert page.status_code == 200
    return page


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/?range=this_month&compare=previous_period",
        "/dashboard/?range=last_30_days&compare=previous_year&customer_state=NSW",
    ],
)
def test_a_cached_page_draws_each_section_as_before(client, world, path):  # noqa: F811
    user = world["executive"]
    client.force_login(user)
    assert client.post(reverse("alerts-follow"), {"metric": "revenue"}).status_code in (200, 302)
    page = _page(client, path)
    sections = [s for s in page.context["slots"] if s.get("section")]
    assert len(sections) >= 8  # the cards, the charts, the feed
    state = page.context["state"]
    followed = followed_cards(user)
    assert any(card[0] == "revenue" for card in followed)
    request = RequestFactory().get(path)
    body = page.content.decode()
    for slot in sections:
        follow = ""
        if slot["kind"] == "kpi":
            token = TOKEN.search(slot["section"])[1]
            card = (slot["metric"], tuple(sorted(state.filters)))
            follow = old_control_html(
                request,
                METRICS[slot["metric"]],
                tuple(state.filters),
                following=card in followed,
                next_url=path,
                csrf_token=token,
            )
        assert slot["section"] == old_section(slot, follow)
        assert slot["section"] in body
        assert slot["url"] == reverse("dashboard-widget", args=[slot["id"]]) + "?" + (
            state.querystring()
        )
    assert body.count("is-following") == 1


def test_a_widget_url_follows_the_script_prefix(org):
    state = parse_state({}, org)
    widget = {"id": "k-revenue", "type": "kpi", "size": "s", "settings": {"metric": "revenue"}}
    try:
        set_script_prefix("/renoz/")
        slot = views._slot(widget, 0, 1, None, state)
        assert slot["url"] == "/renoz/dashboard/widgets/k-revenue/?" + state.querystring()
    finally:
        set_script_prefix("/")
    other = parse_state({"range": "last_month"}, org)
    for each in (other, state, other):  # the querystring of the state asked, never the last
        slot = views._slot(widget, 0, 1, None, each)
        assert slot["url"] == reverse("dashboard-widget", args=["k-revenue"]) + "?" + (
            each.querystring()
        )
    assert "range=last_month" in slot["url"]
