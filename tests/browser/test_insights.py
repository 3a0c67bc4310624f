"""The insights widget in Chromium: narrative, three findings with sparklines and drill links,
"not useful" through htmx with CSRF, on desktop and phone, with no console errors."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.insights.builders import customers, orders_on, weekdays

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SEPTEMBER = "from=2025-09-01&to=2025-09-30&compare=previous_period"


@pytest.fixture
def history(org):
    cycle = itertools.cycle(customers(org, 20))
    for day in weekdays(dt.date(2025, 5, 1), dt.date(2025, 9, 30)):
        orders_on(org, day, [500_000] * (40 if day == dt.date(2025, 9, 17) else 10), cycle)
    big = customers(org, 1, prefix="Big Co")[0]
    orders_on(org, dt.date(2025, 9, 24), [100_000_000] * 2, itertools.repeat(big))


def test_the_insights_widget_reads_and_dismisses(page, live_server, owner, history):
    login(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/?{SEPTEMBER}")
    widget = page.locator("section.kind-insights")
    items = widget.locator("li.insight")
    expect(items).to_have_count(3)
    expect(widget.locator(".insight-narrative")).to_contain_text("Revenue up 225.0%")
    expect(widget.locator("svg.spark").first).to_be_visible()
    widget.scroll_into_view_if_needed()
    screenshot(page, "insights-desktop")
    first_title = items.first.locator(".insight-title").inner_text()

    items.first.get_by_role("button", name="Not useful").click()

    expect(widget.locator(".insight-title").filter(has_text=first_title)).to_have_count(0)
    expect(widget.locator("li.insight")).to_have_count(3)


def test_the_insights_widget_on_a_phone(phone_page, live_server, owner, history):
    login(phone_page, live_server, owner)
    phone_page.goto(f"{live_server.url}/dashboard/?{SEPTEMBER}")
    widget = phone_page.locator("section.kind-insights")
    expect(widget.locator("li.insight")).to_have_count(3)
    widget.scroll_into_view_if_needed()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    widget.screenshot(path="artifacts/screenshots/insights-phone.png")
