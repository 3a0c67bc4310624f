"""The technician with no signal, on a 390 px phone: the field view's jobs open from the cache
even if never opened before; Start and Complete are queued ("waiting to send") and sent once
when the phone is back online; a job cancelled in the office meanwhile is shown as a conflict
on the job page and on its card, not lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from operations.models import InstallationJob, JobEvent
from tests.browser.conftest import _open_page, login, run_axe, screenshot
from tests.browser.test_field import PHONE_390, tech  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser, request, live_server, transactional_db) -> Iterator[Page]:
    yield from _open_page(browser, request, live_server.url, **PHONE_390)


def _load_the_list_and_go_offline(phone: Page, live_server, user) -> None:
    login(phone, live_server, user)
    phone.goto("/dashboard/field/")
    expect(phone.locator('[data-section="tomorrow"] a.card')).to_have_count(1)
    # The list has put every job page it shows in the cache, and the worker is in charge.
    phone.wait_for_function("() => document.documentElement.dataset.precached === 'true'")
    phone.evaluate("() => navigator.serviceWorker.ready")
    phone.context.set_offline(True)


def _tomorrows_job(user) -> InstallationJob:
    return InstallationJob.objects.get(technician=user, customer__name="Harbour Cold Stores 1")


def test_a_job_never_opened_opens_offline_and_its_start_is_sent_once_back_online(
    live_server,
    phone,
    tech,  # noqa: F811
):
    job = _tomorrows_job(tech)
    _load_the_list_and_go_offline(phone, live_server, tech)
    try:
        phone.goto(f"/dashboard/jobs/{job.pk}/")
        expect(phone.get_by_role("heading", level=1)).to_have_text("Harbour Cold Stores 1")
        expect(phone.locator("[data-offline-badge]").first).to_be_visible()
        phone.get_by_role("button", name="Start job").tap()
        expect(phone.locator("[data-queue-notes]")).to_contain_text("Start waiting to send")
        # A start queued offline lets the technician record the completion too.
        expect(phone.get_by_label("kWh installed")).to_be_visible()
        screenshot(phone, "field-job-offline-waiting-390")
        assert InstallationJob.objects.get(pk=job.pk).status == "scheduled"
    finally:
        phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(phone.locator(".job-page .pill-in_progress")).to_be_visible()
    expect(phone.locator("[data-queue-notes] .queue-note")).to_have_count(0)
    assert InstallationJob.objects.get(pk=job.pk).status == "in_progress"
    assert JobEvent.objects.filter(job=job, kind="started").count() == 1
    assert run_axe(phone) == []
    screenshot(phone, "field-job-sent-390")


def test_a_completion_queued_offline_is_confirmed_first_and_sent_once(
    live_server,
    phone,
    tech,  # noqa: F811
):
    job = _tomorrows_job(tech)
    InstallationJob.objects.filter(pk=job.pk).update(
        status="in_progress", started_at=job.scheduled_for
    )
    _load_the_list_and_go_offline(phone, live_server, tech)
    try:
        phone.goto(f"/dashboard/jobs/{job.pk}/")
        phone.get_by_label("kWh installed").fill("27.5")
        phone.get_by_label("Labour hours").fill("7.25")
        phone.get_by_role("button", name="Complete job", exact=True).tap()
        confirm = phone.get_by_role("button", name="Yes, complete job")
        expect(confirm).to_be_visible()
        expect(phone.locator("[data-offline-confirm]")).to_contain_text("27.5 kWh")
        # Tapping twice with no signal is still one action.
        confirm.tap()
        expect(phone.locator("[data-queue-notes]")).to_contain_text("Completion waiting to send")
        phone.goto("/dashboard/field/")
        expect(phone.locator(f'a.card[data-job="{job.pk}"] .card-queue')).to_have_text(
            "Completion waiting to send"
        )
        screenshot(phone, "field-offline-waiting-390")
    finally:
        phone.context.set_offline(False)
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(phone.locator(f'a.card[data-job="{job.pk}"] .pill-completed')).to_be_visible()
    job.refresh_from_db()
    assert (job.status, str(job.kwh), str(job.labor_hours)) == ("completed", "27.50", "7.25")
    assert JobEvent.objects.filter(job=job, kind="completed").count() == 1


# The server's 409 answer to the queued start is logged by Chromium as a failed resource.
@pytest.mark.allow_console_errors
def test_a_job_cancelled_meanwhile_is_shown_as_a_conflict(live_server, phone, tech):  # noqa: F811
    job = _tomorrows_job(tech)
    _load_the_list_and_go_offline(phone, live_server, tech)
    try:
        phone.goto(f"/dashboard/jobs/{job.pk}/")
        phone.get_by_role("button", name="Start job").tap()
        expect(phone.locator("[data-queue-notes]")).to_contain_text("waiting to send")
    finally:
        phone.context.set_offline(False)
    InstallationJob.objects.filter(pk=job.pk).update(
        status="cancelled", cancelled_at=timezone.now()
    )
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    notes = phone.locator("[data-queue-notes]")
    expect(notes).to_contain_text("Start not sent: This job is cancelled; it cannot start")
    screenshot(phone, "field-job-conflict-390")
    # The cancelled job has left the list; the list still says what was not sent, and where.
    phone.goto("/dashboard/field/")
    expect(phone.locator(f'a.card[data-job="{job.pk}"]')).to_have_count(0)
    elsewhere = phone.locator("[data-queue-elsewhere]")
    expect(elsewhere).to_contain_text(
        "Harbour Cold Stores 1 · Start not sent: This job is cancelled"
    )
    screenshot(phone, "field-list-conflict-390")
    with phone.expect_navigation():
        elsewhere.get_by_role("link", name="Harbour Cold Stores 1").tap()
    expect(notes).to_contain_text("This job is cancelled")
    notes.get_by_role("button", name="Dismiss").tap()
    expect(notes.locator(".queue-note")).to_have_count(0)
    assert not JobEvent.objects.filter(job=job).exists()
