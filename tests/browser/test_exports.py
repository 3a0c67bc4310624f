"""A large export in a real browser: the drill-down's link opens the export's own page, which
says the file is being prepared and then offers the download; desktop and phone, each role that
exports, and axe finds nothing to fix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.models import ExportJob
from operations.models import Activity
from tests.browser.conftest import login, run_axe, screenshot
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crew(org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_SYNC_MAX_ROWS = 3  # every list below is "large"
    people = {role: make_user(org, role, f"{role}@renoz.test") for role in ("admin", "viewer")}
    people["technician"] = make_user(org, "technician", "technician@renoz.test")
    now = timezone.now()
    for i in range(6):
        Activity.objects.create(
            organization=org,
            user=people["technician"],
            kind="call",
            subject=f"Call {i}",
            occurred_at=now - dt.timedelta(hours=i + 1),
        )
    return people


@pytest.mark.parametrize(
    ("role", "device"), [("admin", "page"), ("viewer", "page"), ("technician", "phone_page")]
)
def test_a_large_export_opens_its_page_then_downloads(request, live_server, crew, role, device):
    page = request.getfixturevalue(device)
    user = crew[role]
    login(page, live_server, user)
    page.goto("/dashboard/drill/activities/?range=last_30_days")
    expect(page.locator(".drill-export-note")).to_be_visible()
    page.locator(".drill-export").scroll_into_view_if_needed()
    screenshot(page, f"export-drill-{role}-{device}")
    page.get_by_role("link", name="CSV").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CSV export of Activities")
    # The worker runs eagerly in tests: the page finds the file ready.
    expect(page.get_by_role("status")).to_contain_text("Your file of 6 rows is ready.")
    assert run_axe(page) == []
    screenshot(page, f"export-ready-{role}-{device}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename.startswith("renoz-activities-")
    # While a worker is still writing a file, the page says so and checks again by itself.
    waiting = ExportJob.objects.create(
        organization=user.organization,
        user=user,
        metric="activities",
        params="range=last_30_days",
        fmt="xlsx",
        rows=12345,
    )
    page.goto(f"/dashboard/exports/{waiting.pk}/")
    expect(page.get_by_role("status")).to_contain_text("Your file of 12,345 rows is being prepared")
    assert run_axe(page) == []
    screenshot(page, f"export-waiting-{role}-{device}")
    ExportJob.objects.filter(pk=waiting.pk).update(status="failed", error="test: stopped")
    expect(page.get_by_role("status")).to_contain_text("could not be prepared", timeout=10_000)
