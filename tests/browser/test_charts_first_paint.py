"""Charts draw before plotly (issue 25): the first paint of every chart is the server's SVG,
accessible and with its data; plotly loads on interaction or, on a desktop, once the page is
idle; a phone loads no chart library until a chart is touched; with JavaScript off the page
still shows its charts, tables and links."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.layouts import default_widgets
from tests.browser import test_dashboard
from tests.browser.conftest import DESKTOP, PHONE, run_axe, screenshot
from tests.browser.test_dashboard import wait_settled
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLOTLY = re.compile(r"/static/vendor/plotly-basic")
CHART_TYPES = {
    "trend",
    "sales_by_category",
    "pipeline_by_stage",
    "installations",
    "warranty_claims",
}
CHARTS = sum(w["type"] in CHART_TYPES for w in default_widgets("executive"))
demo = test_dashboard.demo  # the fixture: the demo organisation with test passwords


def _login(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert "/accounts/login/" not in page.url


def _watch_plotly(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if PLOTLY.search(r.url) else None)
    return seen


def test_the_page_carries_no_chart_library(page, live_server, demo):
    _login(page, live_server, demo["admin"])
    html = page.request.get("/dashboard/").text()
    assert "plotly-basic" not in re.sub(r'data-plotly-src="[^"]*"', "", html)
    assert html.count('class="chart-svg chart-svg-wide" role="img"') == CHARTS
    assert html.count('class="chart-svg chart-svg-narrow" role="img"') == CHARTS
    assert 'hx-trigger="load' not in html  # nothing loads itself: every widget came with it


def test_a_phone_paints_svg_charts_and_loads_plotly_only_when_touched(
    phone_page,
    live_server,
    demo,
):
    page = phone_page
    plotly = _watch_plotly(page)
    _login(page, live_server, demo["admin"])
    wait_settled(page)
    page.wait_for_function("() => window.dashboardChartsDrawnAt > 0")
    charts = page.locator(".chart svg.chart-svg-narrow[role=img]")
    expect(charts).to_have_count(CHARTS)
    expect(charts.first).to_be_visible()
    expect(page.locator(".chart svg.chart-svg-wide").first).to_be_hidden()
    trend = page.locator(".kind-chart").first
    svg = trend.locator("svg.chart-svg-narrow")
    label = svg.get_attribute("aria-labelledby")
    assert label and len(label.split()) == 2  # its <title> and its <desc>
    expect(svg.locator("title")).to_have_text("Revenue trend")
    expect(svg.locator("desc")).to_have_text(re.compile(r"^Revenue by day"))
    expect(svg.locator("polyline, rect").first).to_be_attached()  # the data, drawn
    assert plotly == [], "a phone loads no chart library before a chart is touched"
    assert run_axe(page) == []
    screenshot(page, "charts-phone-svg")

    with page.expect_request(PLOTLY):
        trend.locator(".chart").tap()
    expect(trend.locator(".chart .main-svg").first).to_be_attached()
    expect(trend.locator(".chart")).to_have_attribute("role", "img")
    expect(trend.locator(".chart")).to_have_attribute("aria-label", re.compile(r"^Revenue by day"))
    # Only the touched chart was taken over on a phone.
    expect(page.locator(".js-plotly-plot")).to_have_count(1)


def test_a_desktop_takes_the_charts_over_when_idle(page, live_server, demo):
    plotly = _watch_plotly(page)
    _login(page, live_server, demo["admin"])
    wait_settled(page)
    assert len(plotly) == 1
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS)
    drawn, settled = page.evaluate("[window.dashboardChartsDrawnAt, window.dashboardSettledAt]")
    assert 0 < drawn <= settled  # the SVG charts were drawn before plotly took them over
    assert run_axe(page) == []


@pytest.mark.parametrize("where", ["desktop", "phone"])
def test_without_javascript_the_charts_tables_and_links_are_there(
    browser,
    live_server,
    demo,
    where,
):
    context = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        **(DESKTOP if where == "desktop" else PHONE),
    )
    try:
        page = context.new_page()
        _login(page, live_server, demo["admin"])
        page.goto("/dashboard/")
        shown = "wide" if where == "desktop" else "narrow"
        expect(page.locator(f".chart svg.chart-svg-{shown}:visible")).to_have_count(CHARTS)
        trend = page.locator(".kind-chart").first
        table = trend.get_by_role("table")
        expect(table).to_be_visible()
        expect(table.locator("tbody th a").first).to_have_attribute(
            "href", re.compile(r"/dashboard/drill/revenue/\?")
        )
        expect(trend.get_by_role("link", name="See the records")).to_be_visible()
        expect(trend.get_by_role("button", name="Table")).to_be_hidden()
        expect(page.locator("a.kpi[data-metric]")).to_have_count(
            sum(w["type"] == "kpi" for w in default_widgets("executive"))
        )
        expect(page.locator(".feed-item").first).to_be_visible()
        screenshot(page, f"dashboard-no-js-{where}")
    finally:
        context.close()


def test_the_charts_are_noted_drawn_before_any_script_has_loaded(page, live_server, demo):
    """The server's SVG charts are drawn once the grid is parsed: the page notes that frame
    itself (window.dashboardChartsDrawnAt, the "charts drawn" bench_page measures), without
    waiting for htmx or dashboard.js, here served empty."""
    _login(page, live_server, demo["admin"])
    page.route(
        re.compile(r"/static/(vendor/htmx|js/dashboard)"),
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=""),
    )
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_function("() => window.dashboardChartsDrawnAt > 0")
    assert page.evaluate("typeof window.htmx") == "undefined"
    expect(page.locator(".chart svg.chart-svg-wide[role=img]")).to_have_count(CHARTS)
