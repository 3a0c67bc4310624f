"""An admin sets a target through the form, sees its progress, and the KPI card picks it up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from metrics.periods import local_midnight, unit_bounds
from targets.models import Target
from tests.browser.conftest import login, screenshot
from tests.conftest import make_user
from tests.targets.helpers import order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def this_month_start(org) -> dt.date:
    return timezone.now().astimezone(org.tz).date().replace(day=1)


def revenue_card(page):
    return page.locator(".kpi").filter(has=page.get_by_role("heading", name="Revenue", exact=True))


def test_an_admin_sets_a_target_and_the_dashboard_shows_progress(page, live_server, owner):
    org = owner.organization
    month = this_month_start(org)
    # One $40,000 order in the first second of this month: 40 % of the $100,000 target.
    order(org, local_midnight(month, org.tz) + dt.timedelta(seconds=1), 4_000_000)
    # Other targets around it, so the list (and its screenshot) looks like real use.
    quarter, _ = unit_bounds("quarter", month)
    year, _ = unit_bounds("fiscal_year", month, org.fiscal_year_start_month)
    for metric, kind, start, value in [
        ("revenue", "quarter", quarter, 30_000_000),
        ("revenue", "fiscal_year", year, 120_000_000),
        ("new_customers", "month", month, 12),
        ("quote_win_rate", "month", month, Decimal("0.38")),
        ("kwh_deployed", "month", month, Decimal("1200")),
    ]:
        Target.objects.create(
            organization=org, metric=metric, period_kind=kind, period_start=start, value=value
        )
    login(page, live_server, owner)

    page.goto("/dashboard/")
    card = revenue_card(page)
    expect(card.locator(".kpi-value")).to_have_text("$40,000")
    # Only the quarter's target applies so far: $40,000 of $300,000.
    expect(card.locator(".target-text")).to_contain_text("$40,000 of $300,000 · expected by now")

    page.goto("/dashboard/targets/")
    page.get_by_role("link", name="Add target").click()
    page.get_by_label("Metric").select_option("revenue")
    page.get_by_label("Period", exact=True).select_option("month")
    page.get_by_label("Period starts").fill(month.isoformat())
    page.get_by_label("Target", exact=True).fill("$100,000")
    page.get_by_role("button", name="Add target").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Added the Revenue target for {month:%b %Y}."
    )
    target = Target.objects.get(organization=org, metric="revenue", period_kind="month")
    assert (target.metric, target.period_start, target.value) == ("revenue", month, 10_000_000)
    row = page.locator(f'tr[data-target-id="{target.pk}"]')
    expect(row.get_by_role("rowheader")).to_have_text("Revenue")
    expect(row.locator('td[data-label="Target"]')).to_have_text("$100,000")
    expect(row.locator('td[data-label="Actual"]')).to_have_text("$40,000")
    expect(row.locator('td[data-label="Progress"]')).to_contain_text("40.0%")
    # The status depends on how much of the month has gone by when the test runs.
    status = row.locator('td[data-label="Status"] .tg-badge').inner_text()
    assert status in {"On track", "At risk", "Behind"}
    screenshot(page, "targets")

    page.goto("/dashboard/")
    card = revenue_card(page)
    # The month is the smallest period holding "this month", so its target now applies.
    expect(card.locator(".target-text")).to_contain_text("$40,000 of $100,000")


def test_a_viewer_sees_targets_read_only(page, live_server, owner):
    org = owner.organization
    Target.objects.create(
        organization=org,
        metric="new_customers",
        period_kind="month",
        period_start=this_month_start(org),
        value=12,
    )
    viewer = make_user(org, Role.VIEWER)
    login(page, live_server, viewer)
    page.goto("/dashboard/targets/")
    expect(page.get_by_role("rowheader", name="New customers")).to_be_visible()
    expect(page.get_by_role("link", name="Add target")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_text("you are seeing them read-only")).to_be_visible()


def test_the_form_shows_clear_errors(page, live_server, owner):
    login(page, live_server, owner)
    page.goto("/dashboard/targets/new/")
    page.get_by_label("Period starts").fill("2026-11-15")
    page.get_by_label("Target", exact=True).fill("0")
    page.get_by_role("button", name="Add target").click()
    expect(page.get_by_role("alert")).to_contain_text("Please fix the 2 problems below.")
    expect(page.get_by_text("Enter a target above zero.")).to_be_visible()
    expect(page.get_by_text("A monthly target starts on the 1st of a month.")).to_be_visible()
    expect(page.get_by_label("Target", exact=True)).to_have_attribute("aria-invalid", "true")
    assert Target.objects.count() == 0
