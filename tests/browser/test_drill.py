"""Drill-down in a real browser: the list adds up to the KPI and Back keeps the dashboard state."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.formatting import format_aud, short
from metrics.periods import parse_state
from metrics.queries import compute_values
from operations.models import Customer, Order
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATE = "range=last_30_days&compare=previous_period"


@pytest.fixture
def orders(org):
    now = timezone.now()
    names = ["Acme Solar", "Birchwood Farms", "Coastal Cold Storage", "Dunmore Council"]
    customers = [
        Customer.objects.create(organization=org, name=name, kind="commercial", state="NSW")
        for name in names
    ]
    rows = [
        Order(
            organization=org,
            customer=customers[i % len(customers)],
            number=f"SO-{2400 + i}",
            status="fulfilled" if i % 3 else "confirmed",
            ordered_at=now - dt.timedelta(hours=7 * i + 2),
            total_cents=1_250_000 + 73_911 * i,
        )
        for i in range(64)
    ]
    return Order.objects.bulk_create(rows)


def test_the_drill_page_adds_up_to_the_kpi_and_back_keeps_the_state(
    page, live_server, owner, orders
):
    org = owner.organization
    state = parse_state({"range": "last_30_days", "compare": "previous_period"}, org)
    revenue = compute_values(org, state, ["revenue"])["revenue"][0]
    assert revenue == sum(o.total_cents for o in orders if o.ordered_at >= state.range.start_at)
    login(page, live_server, owner)

    page.goto(f"/dashboard/drill/revenue/?{STATE}")

    expect(page.get_by_role("heading", level=1)).to_have_text("Revenue")
    expect(page.locator(".drill-total")).to_have_text(short(revenue, "aud_cents"))
    expect(page.locator(".drill-exact")).to_have_text(f"{format_aud(revenue)} AUD")
    count = Order.objects.filter(
        pk__in=[o.pk for o in orders], ordered_at__gte=state.range.start_at
    )
    expect(page.locator(".drill-count")).to_have_text(str(count.count()))
    table = page.get_by_role("table")
    expect(table.locator("tbody tr")).to_have_count(50)
    expect(table.locator("th[aria-sort=descending]")).to_have_text(re.compile("Ordered"))
    widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], "the page scrolls sideways"
    screenshot(page, "drill")

    # Sorting by total keeps the state in the URL and marks the column for screen readers.
    table.get_by_role("link", name="Total").click()
    expect(page).to_have_url(re.compile(r"sort=-total"))
    expect(table.locator("th[aria-sort=descending]")).to_have_text(re.compile("Total"))
    top = max(o.total_cents for o in orders if o.ordered_at >= state.range.start_at)
    expect(table.locator("tbody tr").first.locator("td.num").last).to_have_text(format_aud(top))
    assert STATE in page.url

    page.get_by_role("link", name="Back to dashboard").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/?{STATE}")


def test_searching_narrows_the_rows_and_the_comparison_toggle_switches_period(
    page, live_server, owner, orders
):
    login(page, live_server, owner)
    page.goto(f"/dashboard/drill/revenue/?{STATE}")

    page.get_by_role("searchbox").fill("Birchwood")
    expect(page.locator(".drill-showing")).to_contain_text("match “Birchwood”")
    expect(page.locator("tbody tr th").first).to_be_visible()
    customers = page.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert customers and set(customers) == {"Birchwood Farms"}
    expect(page).to_have_url(re.compile(r"q=Birchwood"))

    page.get_by_role("link", name=re.compile("^Comparison")).click()
    expect(page.get_by_role("link", name=re.compile("^Comparison"))).to_have_attribute(
        "aria-current", "true"
    )
    expect(page).to_have_url(re.compile(r"period=comparison"))


def test_the_page_fits_a_phone(phone_page, live_server, owner, orders):
    login(phone_page, live_server, owner)
    phone_page.goto(f"/dashboard/drill/revenue/?{STATE}")
    expect(phone_page.locator(".drill-total")).to_be_visible()
    width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px wide)"
    screenshot(phone_page, "drill-phone")


def test_a_kpi_card_opens_the_list_in_a_modal_and_back_keeps_the_dashboard_state(
    page, live_server, owner, orders
):
    org = owner.organization
    state = parse_state({"range": "last_30_days", "compare": "previous_period"}, org)
    revenue = compute_values(org, state, ["revenue"])["revenue"][0]
    login(page, live_server, owner)
    page.goto(f"/dashboard/?{STATE}")

    card = page.locator("a.kpi[data-metric=revenue]")
    expect(card).to_be_visible()
    expect(card).to_have_attribute("href", f"/dashboard/drill/revenue/?{STATE}")
    card.click()

    modal = page.locator("#modal-dialog")
    expect(modal).to_be_visible()
    expect(modal.locator(".drill-total")).to_have_text(short(revenue, "aud_cents"))
    expect(modal.get_by_role("heading", level=2, name="Revenue")).to_be_visible()
    expect(modal.locator("tbody tr")).to_have_count(50)
    # The drill is in history: its own URL (a reload shows it as a page) ...
    assert f"/dashboard/drill/revenue/?{STATE}" in page.url
    page.evaluate("() => { window.__sameDashboard = true; }")

    # Sorting inside the modal swaps only the rows and adds no history entry.
    modal.get_by_role("link", name="Total").click()
    expect(modal.locator("th[aria-sort=descending]")).to_have_text(re.compile("Total"))
    screenshot(page, "drill-modal")
    # One close control in the modal.
    expect(modal.get_by_role("link", name="Back to dashboard")).to_have_count(0)

    # ... and Back closes it, leaving the dashboard (not reloaded) in the same state.
    page.go_back()
    expect(modal).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/dashboard/?{STATE}")
    expect(page.locator("a.kpi[data-metric=revenue]")).to_be_visible()
    assert page.evaluate("() => window.__sameDashboard") is True
    # Forward opens it again; the Close button goes back in history too.
    page.go_forward()
    expect(modal).to_be_visible()
    expect(modal.locator(".drill-total")).to_have_text(short(revenue, "aud_cents"))
    modal.get_by_role("button", name="Close").click()
    expect(modal).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/dashboard/?{STATE}")
