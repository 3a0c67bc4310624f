"""The ask box in Chromium: on the dashboard at 1280 px htmx swaps the answer in under the box
(no navigation) and a chip re-asks with one part changed; on a phone at 390 px the technician's
field view asks through the plain GET form (the no-JavaScript path) and gets their own figures;
no console errors, no CSP violations, no axe violations in the answer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _open_page, login, run_axe, screenshot
from tests.insights.builders import qld_and_nsw_orders, technician_jobs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser, request, live_server, transactional_db):
    yield from _open_page(browser, request, live_server.url, **PHONE_390)


def test_the_dashboard_box_answers_in_place_and_a_chip_re_asks(page, live_server, org, owner):
    qld_and_nsw_orders(org)
    login(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/")
    page.fill("#ask-q", "revenue in Queensland in September 2025")
    page.click(".ask-form button[type=submit]")
    answer = page.locator("#ask-answer .ask-answer")
    expect(answer).to_contain_text("Revenue for customer state QLD, 1 – 30 Sep 2025: $30,000")
    assert page.url.endswith("/dashboard/")  # swapped in, not navigated
    in_box = [v for v in run_axe(page) if any("ask" in node for node in v["nodes"])]
    assert not in_box, in_box
    screenshot(page, "ask-dashboard-1280")
    # The comparison chip: the previous year (nothing in September 2024).
    page.locator(".ask-chip summary", has_text="Compare with").click()
    page.locator(".ask-options a", has_text="Previous year").click()
    expect(page.locator(".ask-text")).to_contain_text("vs previous year ($0)")
    # Removing the state filter: the organisation's $40,000.
    page.get_by_label("Remove Customer state: QLD").click()
    expect(page.locator(".ask-number .ask-value").first).to_have_text("$40,000")


def ask_from_the_field_view(phone, live_server, org, question: str) -> None:
    """As a technician with the hand-worked jobs, ask from the field view's box."""
    login(phone, live_server, technician_jobs(org))
    phone.goto(f"{live_server.url}/dashboard/field/")
    phone.fill("#ask-q", question)
    with phone.expect_navigation():
        phone.click(".ask-form button[type=submit]")


def test_a_technician_asks_from_the_field_view_on_a_phone_without_htmx(phone, live_server, org):
    ask_from_the_field_view(phone, live_server, org, "my installs in September 2025")
    assert "/dashboard/ask/?q=my+installs" in phone.url
    expect(phone.locator(".ask-text")).to_have_text(
        "Your jobs completed, 1 – 30 Sep 2025: 30, up 200.0% vs previous period (10)."
    )
    expect(phone.locator(".ask-number .badge")).to_have_text("Yours")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    screenshot(phone, "ask-field-390")


# Tricky: the refusal page is a 422, which Chromium logs as a failed resource load.
@pytest.mark.allow_console_errors
def test_a_technician_asking_for_sales_figures_is_refused_with_their_own(phone, live_server, org):
    ask_from_the_field_view(phone, live_server, org, "revenue in September 2025")
    expect(phone.locator(".ask-error")).to_have_text(
        "Revenue is not among the numbers your role sees"
    )
    expect(phone.locator(".ask-suggestions a").first).to_have_text("kWh deployed this month")
