"""Insights follow the dashboard's filters in Chromium (the widget's figure is the card's), and
the insights page: every finding with its chart, dismissing one, at desktop and phone widths
as an admin and a technician, with axe reporting no violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, run_axe, screenshot
from tests.insights.builders import qld_and_nsw_orders, technician_jobs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SEPTEMBER = "from=2025-09-01&to=2025-09-30&compare=previous_period"


@pytest.fixture
def data(org):
    qld_and_nsw_orders(org)
    return technician_jobs(org)


def test_a_state_filter_narrows_the_insights_like_the_card_and_a_finding_is_dismissed(
    page, live_server, owner, data
):
    login(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/?{SEPTEMBER}")
    page.get_by_label("Customer state", exact=True).select_option("QLD")
    expect(page).to_have_url(re.compile(r"state=QLD"))

    card = page.locator("section.kind-kpi").filter(
        has=page.get_by_role("heading", name="Revenue", exact=True)
    )
    expect(card.locator(".kpi-value")).to_have_text("$30,000")  # 30 QLD orders × $1,000
    widget = page.locator("section.kind-insights")
    expect(widget.locator(".insight-title").first).to_be_visible()
    expect(widget).to_contain_text("Revenue up 200.0% to $30,000")

    widget.locator(".insight-more a").click()
    expect(page).to_have_url(re.compile(r"/dashboard/insights/\?.*state=QLD"))
    items = page.locator("li.insight-full")
    expect(items.first).to_be_visible()
    count = items.count()
    expect(page.locator("figure.insight-chart svg").first).to_be_visible()
    expect(page.locator(".filter-chip")).to_contain_text("QLD")
    assert run_axe(page) == []
    screenshot(page, "insights-page-admin-desktop-qld")

    first_title = items.first.locator(".insight-title").inner_text()
    items.first.get_by_role("button", name=re.compile(r"^Dismiss")).click()
    expect(page.locator(".insight-title").filter(has_text=first_title)).to_have_count(0)
    expect(items).to_have_count(count - 1)
    expect(page.get_by_role("link", name="Show 1 hidden finding")).to_be_visible()


@pytest.mark.parametrize("who", ["admin", "tech"])
def test_the_insights_page_on_a_phone_and_for_a_technician(
    phone_page, page, live_server, owner, data, who
):
    user = owner if who == "admin" else data
    for view, name in ((phone_page, "phone"), (page, "desktop")):
        login(view, live_server, user)
        view.goto(f"{live_server.url}/dashboard/insights/?{SEPTEMBER}")
        items = view.locator("li.insight-full")
        expect(items.first).to_be_visible()
        if who == "tech":
            expect(view.locator("h1")).to_contain_text("your work")
            expect(view.locator(".insight-title").first).to_contain_text("Jobs completed")
        assert view.evaluate("document.documentElement.scrollWidth") <= (
            390 if name == "phone" else 1280
        )
        assert run_axe(view) == []
        screenshot(view, f"insights-page-{who}-{name}")
