"""Issue 26 item 5 and issue 27 item 7 in a real browser: the error pages (403, 404, 429, 500,
503) and the account-recovery pages, at desktop (1280) and phone (390×844) widths, as each
role that meets them; axe finds no violations. Screenshots in artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from playwright.sync_api import expect

from infra import errors
from tests.browser.conftest import login, run_axe, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def check(page, name: str) -> None:
    """No sideways scroll, axe clean, a screenshot at this width and at the phone's."""
    assert run_axe(page) == [], name
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways on a phone ({width}px)"
    assert run_axe(page) == [], name
    screenshot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


# Chromium logs the page's own 4xx status as a console error; that is the point here.
@pytest.mark.allow_console_errors
@pytest.mark.parametrize("role", ["viewer", "admin", "sales"])
def test_the_403_page_keeps_the_navigation_and_a_way_back(page, live_server, users_by_role, role):
    login(page, live_server, users_by_role[role])
    page.goto("/dashboard/me/")
    response = page.request.get(f"{live_server.url}/dashboard/field/")
    assert response.status == 403
    # Follow the link as a person would: from their numbers to "My jobs".
    page.evaluate("() => { location.href = '/dashboard/field/'; }")
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot open this page")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    back = page.get_by_role("link", name="‹ Back to the previous page")
    expect(back).to_have_attribute("href", f"{live_server.url}/dashboard/me/")
    check(page, f"error-403-{role}")
    with page.expect_navigation():
        back.click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/me/")


# Chromium logs the page's own 4xx status as a console error; that is the point here.
@pytest.mark.allow_console_errors
@pytest.mark.parametrize("role", ["technician", "admin", "anonymous"])
def test_the_404_page(page, live_server, users_by_role, role):
    if role != "anonymous":
        login(page, live_server, users_by_role[role])
    response = page.goto("/dashboard/jobs/987654321/" if role != "anonymous" else "/nowhere/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    expect(page.get_by_role("link", name="Go to the dashboard")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_have_count(0 if role == "anonymous" else 1)
    check(page, f"error-404-{role}")


# Chromium logs the page's own 4xx status as a console error; that is the point here.
@pytest.mark.allow_console_errors
def test_the_429_page(page, live_server, users_by_role, settings):
    settings.RATELIMIT_EXPORT = "1/m"
    login(page, live_server, users_by_role["operations"])
    url = f"{live_server.url}/dashboard/drill/activities/?range=this_month&format=csv"
    assert page.request.get(url).status == 200
    response = page.goto(url)
    assert response is not None and response.status == 429
    expect(page.get_by_role("heading", level=1)).to_have_text("Please wait a moment")
    check(page, "error-429-operations")


@pytest.mark.parametrize("status", [500, 503])
def test_the_500_and_503_pages(page, live_server, users_by_role, status):
    """500 renders with no request at all; 503 as the timeout middleware renders it. Their HTML
    is shown at the live server's address so the stylesheet loads as it would."""
    if status == 500:
        html = errors.server_error(RequestFactory().get("/dashboard/")).content.decode()
    else:
        request = RequestFactory().get("/dashboard/")
        request.user = users_by_role["admin"]
        request.htmx = False
        html = errors.error_response(
            request,
            503,
            "The database is busy and this request waited too long. Try again in 30 seconds.",
            retry_after=30,
        ).content.decode()
    page.goto("/accounts/login/")
    page.set_content(html)
    page.wait_for_load_state("load")
    expect(page.locator(".error-card")).to_be_visible()
    check(page, f"error-{status}")


def test_the_account_recovery_pages(page, live_server, owner):
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    check(page, "account-reset-form")
    page.get_by_label("Email").fill(owner.email)
    with page.expect_navigation():
        page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    check(page, "account-reset-sent")
    page.goto("/accounts/password/reset/MQ/not-a-token/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    check(page, "account-reset-bad-link")


@pytest.mark.parametrize("role", ["admin", "technician"])
def test_the_change_password_page_from_the_user_menu(page, live_server, users_by_role, role):
    login(page, live_server, users_by_role[role])
    page.get_by_role("link", name="Password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your password")
    page.get_by_label("Old password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("a-brand-new-passphrase-42")
    page.get_by_label("New password confirmation").fill("a-brand-new-passphrase-42")
    with page.expect_navigation():
        page.get_by_role("button", name="Change my password").click()
    expect(page.locator(".field-error")).to_contain_text("old password was entered incorrectly")
    check(page, f"account-change-password-{role}")
