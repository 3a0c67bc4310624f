"""The report screens: who may use them, the form's messages, previews, history, pause."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from reports.models import ReportRun, ScheduledReport
from tests.conftest import make_user
from tests.reports.conftest import make_report

pytestmark = pytest.mark.django_db


def form_data(owner, **overrides) -> dict:
    data = {
        "name": "Board pack",
        "owner": owner.pk,
        "recipients": "ceo@client.test\ncfo@client.test",
        "cadence": "weekly",
        "weekday": "0",
        "month_day": "",
        "send_time": "08:00",
        "timezone": "Australia/Sydney",
        "range_preset": "last_month",
        "compare": "previous_year",
        "widgets": ["kpi:revenue", "trend:revenue", "installations"],
    }
    return {**data, **overrides}


@pytest.mark.parametrize("role", ["sales", "operations", "technician", "viewer"])
def test_only_admins_may_open_the_report_screens(client, users_by_role, role):
    client.force_login(users_by_role[role])
    assert client.get(reverse("reports-list")).status_code == 403
    assert client.get(reverse("reports-create")).status_code == 403


def test_another_organisations_report_is_a_404(client, owner, outsider):
    theirs = make_report(outsider.organization, outsider)
    client.force_login(owner)
    for name in ("reports-detail", "reports-edit", "reports-preview", "reports-preview-pdf"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert client.post(reverse("reports-send-now", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("reports-toggle", args=[theirs.pk])).status_code == 404


def test_the_list_shows_next_send_last_status_and_pauses(client, org, owner):
    report = make_report(org, owner, name="Daily sales", send_time=dt.time(7, 30))
    ReportRun.objects.create(
        report=report, slot=dt.datetime(2026, 7, 5, 21, 30, tzinfo=dt.UTC), status="failed"
    )
    client.force_login(owner)
    page = client.get(reverse("reports-list")).content.decode()
    assert "Daily sales" in page
    assert "Daily at 7:30 am" in page
    assert "Failed" in page
    assert "Mon 6 Jul 2026, 7:30 am AEST" in page
    response = client.post(reverse("reports-toggle", args=[report.pk]), {"next": "list"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert not report.active
    assert "Paused" in client.get(reverse("reports-list")).content.decode()


def test_creating_a_report_saves_every_field(client, org, owner):
    client.force_login(owner)
    response = client.post(reverse("reports-create"), form_data(owner))
    assert response.status_code == 302
    report = ScheduledReport.objects.get(name="Board pack")
    assert report.recipients == ["ceo@client.test", "cfo@client.test"]
    assert (report.cadence, report.weekday, report.month_day) == ("weekly", 0, None)
    assert report.send_time == dt.time(8, 0)
    assert (report.range_preset, report.compare) == ("last_month", "previous_year")
    assert report.widgets == ["kpi:revenue", "trend:revenue", "installations"]
    assert report.schedule_anchor is not None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"recipients": "ceo@client.test, not-an-address"}, "recipients", "“not-an-address”"),
        ({"recipients": ""}, "recipients", "Add at least one e-mail address."),
        (
            {"recipients": "\n".join(f"p{i}@client.test" for i in range(51))},
            "recipients",
            "51 recipients is too many",
        ),
        ({"cadence": "monthly", "month_day": "31"}, "month_day", "Day 31 is not in every month"),
        ({"cadence": "monthly", "month_day": ""}, "month_day", "Choose the day of the month"),
        ({"weekday": ""}, "weekday", "Choose the day of the week"),
        ({"range_preset": "last_fortnight"}, "range_preset", "Unknown date range “last_fortnight”"),
        ({"compare": "yesterday"}, "compare", "Unknown comparison"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone"),
        ({"send_time": "8 o'clock"}, "send_time", "Enter a time as HH:MM"),
        ({"widgets": ["kpi:nonsense"]}, "widgets", "is not a widget of the dashboard catalogue"),
        ({"name": "  "}, "name", "Give the report a name."),
    ],
)
def test_bad_input_gets_a_clear_message(client, org, owner, overrides, field, message):
    client.force_login(owner)
    response = client.post(reverse("reports-create"), form_data(owner, **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field]), errors
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not ScheduledReport.objects.exists()


def test_the_owner_must_be_allowed_to_see_each_widget(client, org, owner):
    client.force_login(owner)
    tech = make_user(org, "technician")
    response = client.post(reverse("reports-create"), form_data(tech, widgets=["kpi:revenue"]))
    assert "may not see kpi:revenue" in response.context["form"].errors["widgets"][0]


def test_the_form_shows_the_next_three_sends_across_daylight_saving(client, owner, time_machine):
    time_machine.move_to(dt.datetime(2026, 10, 2, 12, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(owner)
    response = client.get(
        reverse("reports-next-sends"),
        {"cadence": "daily", "send_time": "02:30", "timezone": "Australia/Sydney"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    for when in (
        "Sat 3 Oct 2026, 2:30 am AEST",
        "Sun 4 Oct 2026, 3:00 am AEDT",
        "Mon 5 Oct 2026, 2:30 am AEDT",
    ):
        assert when in page


def test_editing_keeps_the_report_and_moves_its_schedule_anchor(client, org, owner):
    report = make_report(org, owner)
    client.force_login(owner)
    response = client.post(
        reverse("reports-edit", args=[report.pk]),
        form_data(owner, name="Renamed", cadence="monthly", month_day="28", weekday=""),
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.name, report.cadence, report.month_day, report.weekday) == (
        "Renamed",
        "monthly",
        28,
        None,
    )
    assert report.schedule_anchor is not None


def test_preview_renders_html_and_pdf_for_any_date_without_sending(client, org, owner, mailoutbox):
    report = make_report(org, owner, name="Preview me")
    client.force_login(owner)
    page = client.get(reverse("reports-preview", args=[report.pk]), {"date": "2026-03-02"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Preview me" in html and "24 Feb – 2 Mar 2026" in html
    pdf = client.get(reverse("reports-preview-pdf", args=[report.pk]), {"date": "2026-03-02"})
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content[:5] == b"%PDF-"
    assert "preview-me-20260224-20260302.pdf" in pdf["Content-Disposition"]
    assert mailoutbox == []
    assert not ReportRun.objects.exists()
    bad = client.get(reverse("reports-preview", args=[report.pk]), {"date": "2026-02-30"})
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in bad.content.decode()


def test_history_lists_each_run_with_its_details(client, org, owner, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    slot = dt.datetime(2026, 7, 5, 22, 0, tzinfo=dt.UTC)
    started = dt.datetime(2026, 7, 5, 22, 0, 1, tzinfo=dt.UTC)
    run = ReportRun.objects.create(
        report=report,
        slot=slot,
        status="failed",
        attempt=3,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=2.5),
        error="Attempt 3: SMTPDataError: (451, 'busy')",
        recipients=["a@client.test", "b@client.test"],
        delivered_to=["a@client.test"],
    )
    run.pdf.save("history.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    client.force_login(owner)
    page = client.get(reverse("reports-detail", args=[report.pk])).content.decode()
    for text in (
        "Mon 6 Jul 2026, 8:00 am AEST",
        "Failed",
        "2.5 s",
        "1 of 2",
        "SMTPDataError: (451, &#x27;busy&#x27;)",
        reverse("reports-run-pdf", args=[report.pk, run.pk]),
    ):
        assert text in page
    pdf = client.get(reverse("reports-run-pdf", args=[report.pk, run.pk]))
    assert b"".join(pdf.streaming_content) == b"%PDF-1.7 test"
