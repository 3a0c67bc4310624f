"""What users hit on the dashboard (issue 26): a target line that names its period when it is
not the card's range (item 3), and a select followed by Apply that must not abort the
select's own request (item 15)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from targets.models import Target
from tests.browser.conftest import login, screenshot
from tests.targets.helpers import closed_quote, local, order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def card(page, label: str):
    return page.locator(".kpi").filter(has=page.get_by_role("heading", name=label, exact=True))


@pytest.fixture
def autumn(owner):
    """Orders and closed quotes in FY2027 (from 1 Jul 2026), inside and outside 1 Sep – 15 Oct.

    Revenue: $30,000 on 5 Sep and $10,000 on 10 Oct are in the range ($40,000); $20,000 on
    5 Aug is not, so the financial year holds $60,000. Quotes: 2 won and 3 lost in September
    (win rate 2 / 5 = 40.0 %); 2 more lost in August, so the year's rate is 2 / 7 = 28.6 %.
    """
    org = owner.organization
    order(org, local(2026, 8, 5, 10), 2_000_000)
    order(org, local(2026, 9, 5, 10), 3_000_000)
    order(org, local(2026, 10, 10, 10), 1_000_000)
    for day in (2, 3):
        closed_quote(org, local(2026, 9, day, 11), "won")
    for day in (4, 5, 6):
        closed_quote(org, local(2026, 9, day, 11), "lost")
    for day in (7, 8):
        closed_quote(org, local(2026, 8, day, 11), "lost")
    fy = dt.date(2026, 7, 1)
    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="fiscal_year",
        period_start=fy,
        value=50_000_000,
    )
    Target.objects.create(
        organization=org,
        metric="quote_win_rate",
        period_kind="fiscal_year",
        period_start=fy,
        value=Decimal("0.38"),
    )
    return org


def test_a_custom_range_card_names_the_period_of_its_target(page, live_server, owner, autumn):
    login(page, live_server, owner)
    page.goto("/dashboard/?range=this_month&compare=none")
    page.get_by_label("Period").select_option("custom")
    page.get_by_label("From").fill("2026-09-01")
    page.get_by_label("To", exact=True).fill("2026-10-15")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"from=2026-09-01&to=2026-10-15"))

    revenue = card(page, "Revenue")
    expect(revenue.locator(".kpi-value")).to_have_text("$40,000")
    # The target is the financial year's, so its actual is the year's $60,000, and says so.
    expect(revenue.locator(".target-text")).to_contain_text("FY2027 target: $60,000 of $500,000")
    win_rate = card(page, "Quote win rate")
    expect(win_rate.locator(".kpi-value")).to_have_text("40.0%")
    expect(win_rate.locator(".target-text")).to_contain_text(
        "FY2027 target: 28.6% against a 38.0% target"
    )
    screenshot(page, "custom-range-target-period")


def test_a_range_that_is_the_target_period_reads_without_a_period_name(
    page, live_server, owner, autumn
):
    login(page, live_server, owner)
    page.goto("/dashboard/?from=2026-07-01&to=2027-06-30&compare=none")
    text = card(page, "Revenue").locator(".target-text")
    expect(text).to_contain_text("$60,000 of $500,000")
    expect(text).not_to_contain_text("FY2027 target")


def test_a_select_then_apply_aborts_nothing_and_applies_the_choice(page, live_server, owner):
    login(page, live_server, owner)
    page.goto("/dashboard/?range=this_month&compare=previous_period")
    expect(page.locator("#controls")).to_be_visible()
    failed: list[str] = []
    finished: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on(
        "requestfinished",
        lambda r: finished.append(r.url) if "/dashboard/?" in r.url else None,
    )
    # Hold the dashboard's requests, so the select's is certainly still open at Apply.
    held = []

    def page_request(url: str) -> bool:
        return "/dashboard/?" in url

    def hold(route) -> None:
        held.append(route)

    page.route(page_request, hold)
    with page.expect_request(lambda r: page_request(r.url)):
        page.get_by_label("Compare with").select_option("previous_year")
    page.get_by_role("button", name="Apply").click()
    assert len(held) == 1, [r.request.url for r in held]
    held[0].continue_()
    page.unroute(page_request)
    expect(page).to_have_url(re.compile("compare=previous_year"))
    expect(page.locator(".dash-compare")).to_contain_text("vs previous year")
    page.wait_for_load_state("networkidle")
    assert failed == []
    assert [u for u in finished if "compare=previous_year" in u], finished
