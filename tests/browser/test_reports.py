"""An admin schedules a report in the browser, sees the next sends move with daylight saving,
and reads the list and the history; screenshots at desktop and phone widths."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from reports.models import ReportRun, ScheduledReport
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_schedules_a_report_and_reads_its_history(page, live_server, owner):
    login(page, live_server, owner)
    page.goto("/dashboard/")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="No scheduled reports yet")).to_be_visible()
    page.get_by_role("link", name="Schedule the first report").click()

    page.get_by_label("Name").fill("Board pack")
    page.get_by_label("Recipients").fill("ceo@client.test\nnot-an-address")
    page.get_by_label("Cadence").select_option("daily")
    expect(page.get_by_label("Day of the week", exact=False)).to_be_hidden()
    page.get_by_label("Send time").fill("02:30")
    page.get_by_label("Send time").dispatch_event("change")
    expect(page.locator("#next-sends li")).to_have_count(3)
    page.get_by_label("Revenue", exact=True).check()
    page.get_by_label("Installations", exact=True).check()
    page.get_by_role("button", name="Schedule report").click()
    expect(page.locator(".field-error")).to_contain_text("“not-an-address”")
    screenshot(page, "reports-form-error-desktop")

    page.get_by_label("Recipients").fill("ceo@client.test\ncfo@client.test")
    page.get_by_role("button", name="Schedule report").click()
    expect(page.get_by_role("heading", name="Board pack")).to_be_visible()
    report = ScheduledReport.objects.get(name="Board pack")
    assert report.widgets == ["kpi:revenue", "installations"]

    slot = dt.datetime(2026, 7, 5, 16, 30, tzinfo=dt.UTC)
    for days, status, error in [
        (0, "sent", ""),
        (1, "failed", "Attempt 4: SMTPDataError: (451, b'4.3.0 Mailbox busy, try again later')"),
        (2, "sent", ""),
    ]:
        ReportRun.objects.create(
            report=report,
            slot=slot + dt.timedelta(days=days),
            status=status,
            attempt=4 if error else 1,
            started_at=slot + dt.timedelta(days=days, seconds=1),
            finished_at=slot + dt.timedelta(days=days, seconds=3.4),
            error=error,
            recipients=report.recipients,
            delivered_to=[] if error else report.recipients,
        )
    page.reload()
    expect(page.locator(".rp-runs tbody tr")).to_have_count(3)
    expect(page.locator(".rp-runs")).to_contain_text("Mailbox busy")
    screenshot(page, "reports-history-desktop")
    page.get_by_role("link", name="Reports").first.click()
    expect(page.locator(".rp-list")).to_contain_text("Board pack")
    screenshot(page, "reports-list-desktop")
    page.get_by_role("link", name="New report").click()
    screenshot(page, "reports-form-desktop")


def test_the_report_screens_fit_a_phone(phone_page, live_server, owner):
    report = ScheduledReport.objects.create(
        organization=owner.organization,
        owner=owner,
        name="Executive weekly",
        recipients=["leadership@client.test", "board@client.test"],
        cadence="weekly",
        weekday=0,
        send_time=dt.time(7, 30),
    )
    ReportRun.objects.create(
        report=report,
        slot=dt.datetime(2026, 7, 5, 21, 30, tzinfo=dt.UTC),
        status="sent",
        attempt=1,
        recipients=report.recipients,
        delivered_to=report.recipients,
    )
    login(phone_page, live_server, owner)
    for url, name in [
        ("/dashboard/reports/", "reports-list-phone"),
        (f"/dashboard/reports/{report.pk}/", "reports-history-phone"),
        (f"/dashboard/reports/{report.pk}/edit/", "reports-form-phone"),
    ]:
        phone_page.goto(url)
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} scrolls sideways ({width}px)"
        screenshot(phone_page, name)
