"""The technician's field view on a phone (390 × 844, touch): tap a job, complete it and see
"Jobs completed" go up on /dashboard/me/; read today's list with no signal; no axe violations;
no charts library and at most 40 KB of gzipped JavaScript."""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from metrics.periods import local_midnight
from operations.models import Customer, InstallationJob, Order
from tests.browser.conftest import _open_page, login, run_axe, screenshot
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
JS_BUDGET_GZIP = 40 * 1024


@pytest.fixture
def phone(browser, request, live_server, transactional_db) -> Iterator[Page]:
    yield from _open_page(browser, request, live_server.url, **PHONE_390)


@pytest.fixture
def tech(org):
    technician = make_user(org, "technician", "tech@renoz.test")
    now = timezone.now()
    today = local_midnight(now.astimezone(org.tz).date(), org.tz)
    # Tricky: "today" must stay today whatever the clock says, so the first job is due now.
    slots = [max(today, now - dt.timedelta(minutes=1)), today + dt.timedelta(days=1, hours=9)]
    for n, when in enumerate(slots):
        customer = Customer.objects.create(
            organization=org,
            name=f"Harbour Cold Stores {n}",
            kind="commercial",
            state="NSW",
            phone="02 9000 1234",
        )
        order = Order.objects.create(
            organization=org,
            customer=customer,
            number=f"SO-{n}",
            status="fulfilled",
            ordered_at=now - dt.timedelta(days=9),
            total_cents=1_000_000,
        )
        InstallationJob.objects.create(
            organization=org,
            order=order,
            customer=customer,
            technician=technician,
            scheduled_for=when,
            created_at=now - dt.timedelta(days=9),
            kwh=Decimal("30.00"),
            labor_hours=Decimal("8.00"),
            site_address=f"{n + 4} Wharf Rd, Pyrmont NSW 2009",
            notes="Loading dock at the rear.",
        )
    return technician


def _jobs_completed(page) -> str:
    page.goto("/dashboard/me/")
    return page.locator('[data-metric="jobs_completed"]').get_attribute("data-value")


def test_tap_a_job_complete_it_and_see_jobs_completed_go_up(live_server, phone, tech):
    login(phone, live_server, tech)
    assert _jobs_completed(phone) == "0"
    phone.goto("/dashboard/field/")
    today = phone.locator('[data-section="today"]')
    expect(today.locator("a.card")).to_have_count(1)
    screenshot(phone, "field-390")
    today.locator("a.card").first.tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Harbour Cold Stores 0")
    # Start first: the unstarted job offers no completion yet.
    expect(phone.get_by_label("kWh installed")).to_be_hidden()
    screenshot(phone, "field-job-unstarted-390")
    phone.get_by_role("button", name="Start job").tap()
    expect(phone.get_by_role("status")).to_contain_text("Job started")
    screenshot(phone, "field-job-started-390")
    phone.get_by_label("kWh installed").fill("28.5")
    phone.get_by_label("Labour hours").fill("7.5")
    phone.get_by_role("button", name="Complete job", exact=True).tap()
    expect(phone.get_by_role("heading", name="Confirm the completion")).to_be_visible()
    screenshot(phone, "field-job-confirm-390")
    phone.get_by_role("button", name="Yes, complete job").tap()
    expect(phone.get_by_role("status")).to_contain_text("Job completed")
    screenshot(phone, "field-job-completed-390")
    # The completed card on the list passes axe too (colour contrast included).
    phone.goto("/dashboard/field/")
    expect(phone.locator("a.card-completed")).to_have_count(1)
    assert run_axe(phone) == []
    screenshot(phone, "field-after-completion-390")
    assert _jobs_completed(phone) == "1"
    kwh = phone.locator('[data-metric="kwh_deployed"]').get_attribute("data-value")
    assert kwh == "28.5"
    screenshot(phone, "me-technician-390")


def test_todays_list_stays_readable_with_no_signal(live_server, phone, tech):
    login(phone, live_server, tech)
    phone.goto("/dashboard/field/")
    phone.wait_for_function(
        "() => navigator.serviceWorker.controller !== null || "
        "navigator.serviceWorker.ready.then(() => true)"
    )
    phone.evaluate("() => navigator.serviceWorker.ready")
    phone.reload()  # now controlled: this visit is what the cache keeps
    expect(phone.locator("[data-offline-badge]")).to_be_hidden()
    phone.context.set_offline(True)
    try:
        phone.reload()
        expect(phone.locator('[data-section="today"] a.card')).to_have_count(1)
        expect(phone.locator("[data-offline-badge]")).to_be_visible()
        expect(phone.locator(".as-of time")).not_to_be_empty()
        screenshot(phone, "field-offline-390")
    finally:
        phone.context.set_offline(False)


def test_the_field_pages_pass_axe_and_load_no_charts_library(live_server, phone, tech):
    login(phone, live_server, tech)
    for path in ("/dashboard/field/", "/dashboard/me/"):
        phone.goto(path)
        assert run_axe(phone) == [], path
    phone.goto("/dashboard/field/")
    with phone.expect_navigation():
        phone.locator("a.card").first.tap()
    assert run_axe(phone) == []
    phone.goto("/dashboard/field/")
    scripts = phone.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(e => e.initiatorType === 'script').map(e => e.name)"""
    )
    static = Path(settings.BASE_DIR) / "static"
    total = 0
    for url in scripts:
        path = urlparse(url).path
        assert "plotly" not in path
        total += len(gzip.compress((static / path.removeprefix("/static/")).read_bytes(), 9))
    assert total <= JS_BUDGET_GZIP, f"{total / 1024:.1f} KB of gzipped JavaScript"
