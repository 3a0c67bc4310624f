"""The app works in a real browser: log in through the form and land on the dashboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def stylesheet_rules(page) -> int:
    """How many CSS rules the page's stylesheets loaded (0 when app.css failed to load)."""
    return page.evaluate(
        "() => [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0)"
    )


def test_login_form_leads_to_the_organisation_dashboard(page, live_server, owner):
    page.goto("/dashboard/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/dashboard/")
    screenshot(page, "smoke-login-desktop")

    login(page, live_server, owner)

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(owner.organization.name)
    assert stylesheet_rules(page) > 0
    path = screenshot(page, "smoke-dashboard-desktop")
    assert path.stat().st_size > 0


def test_dashboard_fits_a_phone(phone_page, live_server, users_by_role):
    technician = users_by_role["technician"]
    login(phone_page, live_server, technician)

    expect(phone_page.get_by_role("heading", level=1)).to_contain_text(technician.organization.name)
    assert stylesheet_rules(phone_page) > 0
    page_width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= 375, f"the page scrolls sideways on a phone ({page_width}px wide)"
    path = screenshot(phone_page, "smoke-dashboard-phone")
    assert path.stat().st_size > 0


def test_wrong_password_stays_on_the_form(page, live_server, owner):
    owner.set_password("something-else-entirely")
    owner.save()
    with pytest.raises(AssertionError, match="login as .* failed: .*correct email and password"):
        login(page, live_server, owner)
    expect(page.get_by_role("alert")).to_be_visible()


@pytest.mark.allow_console_errors
def test_page_fixture_records_console_errors_and_missing_static_files(page, live_server):
    page.goto("/accounts/login/")
    page.evaluate("() => console.error('boom from the test')")
    with page.expect_console_message(lambda message: "404" in message.text):
        page.evaluate(
            """() => { const link = document.createElement('link'); link.rel = 'stylesheet';
                       link.href = '/static/css/does-not-exist.css'; document.head.append(link); }"""
        )
    assert any("boom from the test" in error for error in page.console_errors)
    assert any("404" in error for error in page.console_errors), page.console_errors


def test_pages_declare_an_icon(page, live_server):
    # Without one, Chromium fetches /favicon.ico, gets a 404, and logs a console error.
    page.goto("/accounts/login/")
    assert page.locator("head link[rel~=icon]").count() == 1


def test_static_css_is_served(page, live_server):
    response = page.goto("/static/css/app.css")
    assert response.status == 200
    assert "text/css" in response.headers["content-type"]
