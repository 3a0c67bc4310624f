"""Playwright driving the system Chromium against pytest-django's live server.

Fixtures: `browser` (one Chromium per session), `page` (desktop, 1280×900) and `phone_page`
(375×812, touch). Both pages start a fresh context on the live server, record console errors in
`page.console_errors`, and fail the test if any occurred, unless it is marked
`@pytest.mark.allow_console_errors`. A Content-Security-Policy violation always fails. Helpers: `login(page, live_server, user)` and
`screenshot(page, name)`.

Every browser test module sets `pytestmark = [pytest.mark.browser, ...]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    TimeoutError as PlaywrightTimeoutError,
    sync_playwright,
)

from tests.conftest import PASSWORD

# Tricky: Playwright's sync API keeps an asyncio loop running in the main thread for as long as
# the session-scoped browser lives, and Django refuses ORM calls while a loop runs
# (SynchronousOnlyOperation). Fixtures and tests here use the ORM in that thread, and so do any
# tests collected after this package, so the guard is turned off at import time, not per test.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe.min.js"
TIMEOUT_MS = 10_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_console_errors: the page may log console errors without failing"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _open_page(browser: Browser, request: pytest.FixtureRequest, base_url: str, **options):
    context = browser.new_context(base_url=base_url, locale="en-AU", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.console_errors = []
    page.csp_violations = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            page.console_errors.append(f"console: {message.text} ({where})")
            if "Content Security Policy" in message.text:
                page.csp_violations.append(f"{message.text} ({where})")

    def on_page_error(error: Error) -> None:
        page.console_errors.append(f"pageerror: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield page
    # Let late requests (the favicon, lazy fragments) finish, so their errors are counted too;
    # a page that polls never goes idle, hence the short cap.
    try:
        page.wait_for_load_state("networkidle", timeout=2_000)
    except PlaywrightTimeoutError:
        pass
    errors = list(page.console_errors)
    violations = list(page.csp_violations)
    context.close()
    # No marker excuses a CSP violation: the page would be broken for real users.
    if violations:
        pytest.fail("CSP violations in the browser:\n  " + "\n  ".join(violations), pytrace=False)
    if errors and not request.node.get_closest_marker("allow_console_errors"):
        pytest.fail("Console errors in the browser:\n  " + "\n  ".join(errors), pytrace=False)


@pytest.fixture
def page(browser, request, live_server, transactional_db) -> Iterator[Page]:
    """A desktop page (1280×900) whose relative URLs resolve against the live server."""
    yield from _open_page(browser, request, live_server.url, **DESKTOP)


@pytest.fixture
def phone_page(browser, request, live_server, transactional_db) -> Iterator[Page]:
    """A phone page (375×812, mobile viewport, touch)."""
    yield from _open_page(browser, request, live_server.url, **PHONE)


def login(page: Page, live_server, user) -> Page:
    """Log `user` in through the real login form and wait until the form is left behind."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/accounts/login/" in page.url:
        alert = page.locator("[role=alert]")
        message = alert.inner_text() if alert.count() else "no error shown"
        raise AssertionError(f"login as {user.email} failed: {message}")
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG to artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def run_axe(page) -> list[dict]:
    # Tricky: evaluated through the DevTools protocol, which the page's CSP does not govern
    # (a <script> tag with axe's source inline would be, rightly, refused).
    page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                'best-practice']}});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
