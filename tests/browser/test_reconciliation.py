"""An admin reads the reconciliation with Xero, on a desktop and on a phone, and notes an
exception; axe finds nothing to fix."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _open_page, login, run_axe, screenshot
from tests.xero import books
from tests.xero.conftest import connection, fake  # noqa: F401 - the fake Xero's fixtures
from xero.sync import sync_organization

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARCH = "/dashboard/reconciliation/?from=2026-03-01&to=2026-03-31"


@pytest.fixture
def ledger(org, connection, fake):  # noqa: F811 - the imported fixtures
    books.seed_orders(org)
    books.seed_xero(fake)
    sync_organization(org.pk)


@pytest.fixture
def phone(browser, request, live_server, transactional_db):
    yield from _open_page(
        browser, request, live_server.url,
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
    )  # fmt: skip


def test_an_admin_reads_the_gap_and_notes_an_exception(page, live_server, owner, ledger):
    login(page, live_server, owner)
    page.goto(MARCH)
    expect(page.get_by_role("heading", name="Orders against Xero")).to_be_visible()
    expect(page.locator(".rc-fig-gap .rc-fig-value")).to_have_text("$1,340")
    expect(page.locator(".rc-fig-gap .rc-exact")).to_have_text("$1,340.00")
    expect(page.locator(".rc-pill-ok")).to_have_text("Xero synced just now")
    not_invoiced = page.locator("#kind-not_invoiced")
    expect(not_invoiced.get_by_role("link", name="SO-000006")).to_be_visible()
    assert run_axe(page) == []
    screenshot(page, "reconciliation-admin-desktop")

    note = not_invoiced.get_by_label("Note on not_invoiced")
    note.fill("Customer asked to invoice with the next order")
    not_invoiced.get_by_role("button", name="Add").click()
    expect(not_invoiced.locator(".rc-note")).to_contain_text("Customer asked to invoice")
    page.reload()
    expect(not_invoiced.locator(".rc-note")).to_contain_text("Customer asked to invoice")


def test_the_page_reads_on_a_phone(phone, live_server, owner, ledger):
    login(phone, live_server, owner)
    phone.goto(MARCH)
    expect(phone.locator(".rc-fig-gap .rc-exact")).to_have_text("$1,340.00")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing scrolls sideways"
    assert run_axe(phone) == []
    screenshot(phone, "reconciliation-admin-phone")
