"""Phone details at 390 px: the drill table's amount column is on screen, and a chart point's
popover shows its whole title (it used to be clipped: "Wed 2 Dec 202")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import _open_page, login, screenshot
from tests.browser.test_drill import STATE, orders  # noqa: F401  (the fixture)
from tests.browser.test_field import PHONE_390

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser, request, live_server, transactional_db) -> Iterator[Page]:
    yield from _open_page(browser, request, live_server.url, **PHONE_390)


def test_the_drill_tables_amount_column_is_on_a_390px_screen(live_server, phone, owner, orders):  # noqa: F811
    login(phone, live_server, owner)
    phone.goto(f"/dashboard/drill/revenue/?{STATE}")
    amount = phone.locator(".drill-table thead th").last
    expect(amount).to_contain_text("Total")
    box = amount.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    first_total = phone.locator(".drill-table tbody tr").first.locator("td").last
    cell = first_total.bounding_box()
    assert cell is not None and cell["x"] + cell["width"] <= 390, cell
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(phone, "drill-390")


def test_a_chart_points_popover_shows_its_whole_title_on_a_phone(
    live_server,
    phone,
    owner,
    orders,  # noqa: F811
):
    login(phone, live_server, owner)
    phone.goto(f"/dashboard/?{STATE}")
    phone.wait_for_function("() => document.body.dataset.settled === '1'", timeout=20_000)
    # A phone's charts are the server's SVG until touched (issue 25): a tap hands the revenue
    # trend to plotly, and then its points answer taps.
    phone.locator(".kind-chart .chart").first.tap()
    chart = phone.locator(".kind-chart").filter(has=phone.locator("g.points path")).first
    points = chart.locator("g.points path")
    expect(points.first).to_be_attached()
    # The last point sits at the right edge, where the popover has the least room.
    points.last.click(force=True)
    popover = chart.locator("#point-popover")
    expect(popover).to_be_visible()
    title = popover.locator(".point-popover-title")
    box, body = popover.bounding_box(), chart.locator(".widget-body").bounding_box()
    screenshot(phone, "popover-390")
    # The whole title is on show: not under the close button, not past the popover's edge.
    text = title.evaluate(
        """el => { const r = document.createRange(); r.selectNodeContents(el);
                   const t = r.getBoundingClientRect(); return {left: t.left, right: t.right}; }"""
    )
    close = popover.get_by_role("button", name="Close").bounding_box()
    assert text["right"] <= close["x"], (title.inner_text(), text, close)
    assert text["right"] <= box["x"] + box["width"]
    assert box["x"] >= body["x"] and box["x"] + box["width"] <= body["x"] + body["width"]
    assert box["x"] + box["width"] <= 390
