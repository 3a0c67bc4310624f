"""Issue 14 in Chromium: a swipe on a chart scrolls a touch phone's page, dashboard filters live
in the URL as chips and narrow the drill-down to the card's number, and axe finds nothing on
the filter UI, the drill-down and the targets page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.formatting import short
from operations.models import Customer
from targets.models import Target
from tests.browser.conftest import login, screenshot
from tests.browser.test_dashboard import run_axe, wait_settled
from tests.targets.helpers import order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RANGE = "range=last_30_days&compare=none"


@pytest.fixture
def sales(owner):
    """Orders on each of the last twelve days, from customers in NSW and QLD."""
    org = owner.organization
    buyers = {
        state: Customer.objects.create(
            organization=org,
            name=f"{state} Storage Co",
            kind="commercial",
            state=state,
            created_at=timezone.now() - dt.timedelta(days=400),
        )
        for state in ("NSW", "QLD")
    }
    now = timezone.now()
    totals = {"NSW": 0, "QLD": 0}
    for day in range(1, 13):
        state = "QLD" if day % 3 == 0 else "NSW"
        cents = 1_000_000 + day * 10_000
        order(org, now - dt.timedelta(days=day, hours=1), cents, buyer=buyers[state])
        totals[state] += cents
    return totals


def swipe_up(page, x: float, y: float, distance: int = 300) -> None:
    """A finger dragged up the screen, as the touch events a phone sends."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 11):
        point = {"x": x, "y": y - distance * step / 10}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_swipe_on_a_chart_scrolls_the_page_on_a_touch_phone(
    phone_page, live_server, owner, sales
):
    page = phone_page
    login(page, live_server, owner)
    page.goto(f"/dashboard/?{RANGE}")
    wait_settled(page)
    # A phone paints the server's SVG and loads no chart library until a chart is touched
    # (issue 25): a swipe on it scrolls the page, and the touch has plotly take it over.
    chart = page.locator(".kind-chart .chart").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    before = page.evaluate("() => window.scrollY")
    swipe_up(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(f"() => window.scrollY > {before + 150}", timeout=3_000)
    expect(chart).to_have_class(re.compile(r"js-plotly-plot"))
    # The same swipe on the plotly chart scrolls the page too.
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    before = page.evaluate("() => window.scrollY")
    swipe_up(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(f"() => window.scrollY > {before + 150}", timeout=3_000)
    # The chart did not zoom: its x axis still spans every day.
    assert page.evaluate(
        "el => el.layout.xaxis.fixedrange === true && el.layout.dragmode === false",
        chart.element_handle(),
    )
    # A tap shows the point and offers its records.
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.55)
    popover = page.locator("#point-popover")
    expect(popover.get_by_role("button", name="See records")).to_be_visible()
    screenshot(page, "chart-tap-phone")


def test_a_filter_chip_survives_a_reload_and_narrows_the_drill_down(
    page, live_server, owner, sales
):
    login(page, live_server, owner)
    page.goto(f"/dashboard/?{RANGE}")
    wait_settled(page)
    page.get_by_label("Customer state").select_option("QLD")
    chip = page.locator(".filter-chip")
    expect(chip).to_have_text(re.compile(r"Customer state:\s*QLD"))
    assert "state=QLD" in page.url
    page.reload()
    wait_settled(page)
    expect(page.locator(".filter-chip")).to_have_text(re.compile(r"Customer state:\s*QLD"))
    card = page.locator("a.kpi[data-metric=revenue]")
    expect(card).to_have_attribute("data-value", str(sales["QLD"]))
    assert run_axe(page) == []

    card.click()
    modal = page.locator("#modal-dialog")
    expect(modal).to_be_visible()
    expect(modal.locator(".drill-total")).to_have_text(short(sales["QLD"], "aud_cents"))
    expect(modal.locator(".drill-count")).to_have_text("4")
    expect(modal.locator(".drill-chip")).to_contain_text("Customer state: QLD")
    assert run_axe(page) == []
    screenshot(page, "drill-filtered")
    page.go_back()
    expect(modal).to_be_hidden()

    page.get_by_role("link", name="Remove filter Customer state: QLD").click()
    expect(page.locator(".filter-chip")).to_have_count(0)
    wait_settled(page)
    expect(card).to_have_attribute("data-value", str(sales["QLD"] + sales["NSW"]))


def test_axe_finds_nothing_on_the_targets_page_and_a_quarter_with_rolled_up_targets(
    page, live_server, owner, sales
):
    org = owner.organization
    today = timezone.now().astimezone(org.tz).date()
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    for n in range(3):
        month = dt.date(quarter_start.year, quarter_start.month + n, 1)
        Target.objects.create(
            organization=org,
            metric="revenue",
            period_kind="month",
            period_start=month,
            value=10_000_000,
        )
    login(page, live_server, owner)
    page.goto("/dashboard/?range=this_quarter&compare=previous_period")
    wait_settled(page)
    target = page.locator("a.kpi[data-metric=revenue] .target")
    expect(target).to_contain_text("of $300,000")
    expect(target).to_contain_text("Target from 3 monthly targets")
    assert run_axe(page) == []
    page.goto("/dashboard/targets/")
    assert run_axe(page) == []
