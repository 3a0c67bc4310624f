"""Issue 26 in Chromium: choosing the "Battery" product category on the dashboard fills the
revenue, average order value and kWh sold cards with the battery lines' figures (worked out by
hand below), the cards that cannot be narrowed by category say so, the drill-down adds up to the
card, and axe finds nothing, at desktop and phone widths."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.formatting import short
from operations.models import OrderItem, Product
from tests.browser.conftest import login, screenshot
from tests.browser.test_dashboard import run_axe, wait_settled
from tests.targets.helpers import order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RANGE = "range=last_30_days&compare=none"
# By hand: O1 battery 2 x $5,000 (20 kWh) + inverter $2,500; O2 battery $4,800 (10 kWh) +
# accessory 3 x $150; O3 inverter 2 x $2,500. Battery: $10,000 + $4,800 = $14,800 over
# 2 orders (AOV $7,400), 30 kWh. Unfiltered: $12,500 + $5,250 + $5,000 = $22,750 over 3 orders.
BATTERY_REVENUE = 1_480_000
BATTERY_AOV = 740_000
ALL_REVENUE = 2_275_000


@pytest.fixture
def sales(owner):
    org = owner.organization
    now = timezone.now()

    def product(category, price):
        return Product.objects.create(
            organization=org,
            sku=f"SKU-{category}",
            name=category.title(),
            category=category,
            unit_price_cents=price,
        )

    battery = product("battery", 500_000)
    inverter = product("inverter", 250_000)
    accessory = product("accessory", 15_000)
    lines = {
        3: (1_250_000, [(battery, 2, 500_000, "20"), (inverter, 1, 250_000, "0")]),
        5: (525_000, [(battery, 1, 480_000, "10"), (accessory, 3, 15_000, "0")]),
        7: (500_000, [(inverter, 2, 250_000, "0")]),
    }
    for days, (total, items) in lines.items():
        the_order = order(org, now - dt.timedelta(days=days, hours=1), total)
        for item, quantity, unit, kwh in items:
            OrderItem.objects.create(
                organization=org,
                order=the_order,
                product=item,
                quantity=quantity,
                unit_price_cents=unit,
                kwh=Decimal(kwh),
            )


def choose_battery(page) -> None:
    controls = page.locator("#controls-fold")
    if controls.count() and not page.get_by_label("Product category", exact=True).is_visible():
        controls.locator("summary").click()
    page.get_by_label("Product category", exact=True).select_option("battery")
    expect(page.locator(".filter-chip")).to_have_text(re.compile(r"Product category:\s*Battery"))
    wait_settled(page)


def check_battery_cards(page) -> None:
    revenue = page.locator("a.kpi[data-metric=revenue]")
    expect(revenue).to_have_attribute("data-value", str(BATTERY_REVENUE))
    expect(revenue.locator(".kpi-value")).to_have_text(short(BATTERY_REVENUE, "aud_cents"))
    expect(page.locator("a.kpi[data-metric=average_order_value]")).to_have_attribute(
        "data-value", str(BATTERY_AOV)
    )
    kwh = page.locator("a.kpi[data-metric=kwh_sold]")
    expect(kwh.locator(".kpi-value")).to_have_text("30 kWh")
    # kWh deployed comes from installation jobs, which have no product category: it says so.
    expect(page.get_by_text("kWh deployed cannot be filtered by product category.")).to_be_visible()
    assert page.locator("a.kpi[data-metric=revenue] .kpi-na").count() == 0


def test_battery_fills_the_sales_cards_on_a_desktop(page, live_server, owner, sales):
    login(page, live_server, owner)
    page.goto(f"/dashboard/?{RANGE}")
    wait_settled(page)
    expect(page.locator("a.kpi[data-metric=revenue]")).to_have_attribute(
        "data-value", str(ALL_REVENUE)
    )
    choose_battery(page)
    assert "category=battery" in page.url
    check_battery_cards(page)
    assert run_axe(page) == []
    screenshot(page, "category-battery-desktop")

    page.locator("a.kpi[data-metric=revenue]").click()
    modal = page.locator("#modal-dialog")
    expect(modal).to_be_visible()
    expect(modal.locator(".drill-total")).to_have_text(short(BATTERY_REVENUE, "aud_cents"))
    expect(modal.locator(".drill-count")).to_have_text("2")
    expect(modal.locator(".drill-chip")).to_contain_text("Product category: Battery")
    expect(modal.get_by_role("cell", name="Battery, Inverter")).to_be_visible()
    assert run_axe(page) == []
    screenshot(page, "category-battery-drill")


def test_battery_fills_the_sales_cards_on_a_phone(phone_page, live_server, owner, sales):
    page = phone_page
    login(page, live_server, owner)
    page.goto(f"/dashboard/?{RANGE}")
    wait_settled(page)
    choose_battery(page)
    check_battery_cards(page)
    assert run_axe(page) == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px wide)"
    screenshot(page, "category-battery-phone")
