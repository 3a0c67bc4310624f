"""The walk (issue 26): every role, at desktop (1280 × 800) and phone (390 × 844, touch)
widths, visits every page its navigation offers (dashboard, My numbers and its editor,
targets, reports, a drill-down, and for the technician the field view and a job page before
and after a completion), and each page passes axe with no violation and logs no console
error. Screenshots go to /tmp/walk/<role>-<width>-<page>.png to be looked at."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from operations.seeding import seed_demo
from reports.models import ScheduledReport
from reports.seeding import seed_demo_reports
from tests.browser.conftest import _open_page, login, run_axe
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WALK = Path("/tmp/walk")
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
DEMO = {
    "admin": "admin@renoz.demo",
    "sales": "sales@renoz.demo",
    "operations": "ops@renoz.demo",
    "technician": "tech@renoz.demo",
    "viewer": "viewer@renoz.demo",
}


@pytest.fixture
def demo():
    """The demo organisation as `make demo` leaves it, with test passwords."""
    seed_demo(seed=42, now=timezone.now(), progress=False)
    call_command("refresh_daily_summaries", stdout=io.StringIO())
    users = {}
    for role, email in DEMO.items():
        user = User.objects.get(email=email)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        users[role] = user
    seed_demo_reports(users["admin"].organization)
    return users


def _settled(page) -> None:
    """Every lazy widget loaded and every chart drawn (dashboard.js sets data-settled)."""
    page.wait_for_function("() => document.body.dataset.settled === '1'", timeout=20_000)


class Walk:
    """Visits pages on one page object and records what axe finds, per page."""

    def __init__(self, page, role: str, width: str):
        self.page, self.role, self.width = page, role, width
        self.violations: dict[str, list] = {}
        self.visited: list[str] = []

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        found = run_axe(self.page)
        if found:
            self.violations[name] = found
        self.visited.append(name)
        WALK.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=str(WALK / f"{self.role}-{self.width}-{name}.png"), full_page=True
        )

    def press(self, locator) -> None:
        locator.tap() if self.width == "phone" else locator.click()


def _walk(walk: Walk, user, live_server) -> None:
    page = walk.page
    login(page, live_server, user)
    _settled(page)
    walk.check("dashboard")

    nav = page.get_by_role("navigation", name="Main")
    links = [a.inner_text() for a in nav.get_by_role("link").all()]
    page.goto("/dashboard/me/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My numbers")
    walk.check("my-numbers")
    if user.role != "viewer":
        page.goto("/dashboard/me/?edit=1")
        expect(page.get_by_label("Add a widget")).to_be_visible()
        walk.check("my-numbers-edit")

    if "Targets" in links:
        page.goto("/dashboard/targets/")
        walk.check("targets")
    if "Reports" in links:
        page.goto("/dashboard/reports/")
        walk.check("reports")
        report = ScheduledReport.objects.filter(organization=user.organization).first()
        page.goto(f"/dashboard/reports/{report.pk}/")
        walk.check("report-detail")
        page.goto("/dashboard/reports/new/")
        walk.check("report-new")

    metric = "kwh_deployed" if user.role == "technician" else "revenue"
    page.goto(f"/dashboard/drill/{metric}/?range=this_month")
    expect(page.locator("table").first).to_be_visible()
    walk.check("drill-down")

    if "My jobs" in links:
        page.goto("/dashboard/field/")
        walk.check("field")
        # A job not started yet (whichever local day it is: an earlier one may be in progress).
        card = page.locator("a.card.card-scheduled").first
        walk.press(card)
        expect(page.get_by_role("button", name="Start job")).to_be_visible()
        walk.check("job-before")
        walk.press(page.get_by_role("button", name="Start job"))
        expect(page.get_by_role("status")).to_contain_text("Job started")
        walk.check("job-started")
        page.get_by_label("kWh installed").fill("28.5")
        page.get_by_label("Labour hours").fill("7.5")
        walk.press(page.get_by_role("button", name="Complete job", exact=True))
        expect(page.get_by_role("heading", name="Confirm the completion")).to_be_visible()
        walk.check("job-confirm")
        walk.press(page.get_by_role("button", name="Yes, complete job"))
        expect(page.get_by_role("status")).to_contain_text("Job completed")
        walk.check("job-after")
        page.goto("/dashboard/field/")
        expect(page.locator("a.card-completed").first).to_be_visible()
        walk.check("field-after")


@pytest.mark.parametrize("role", list(DEMO))
def test_every_page_of_every_role_passes_axe_without_console_errors(
    browser, request, live_server, demo, role
):
    user = demo[role]
    results = {}
    for width, options in VIEWPORTS.items():
        opened = _open_page(browser, request, live_server.url, **options)
        page = next(opened)
        walk = Walk(page, role, width)
        try:
            _walk(walk, user, live_server)
        finally:
            # The page's teardown fails the test on any console error or CSP violation.
            next(opened, None)
        results[width] = walk
    for width, walk in results.items():
        assert walk.violations == {}, f"{role} at {width}: {walk.violations}"
    expected = {"dashboard", "my-numbers", "drill-down"}
    assert expected <= set(results["phone"].visited)
    if role == "technician":
        assert {"field", "job-before", "job-after", "field-after"} <= set(results["phone"].visited)
