"""Dispatch over real SMTP: one message per slot, retries, takeovers, DST, the e-mail itself."""

from __future__ import annotations

import datetime as dt
import subprocess
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from presentation.widgets import CATALOGUE, build_widget
from reports import dispatch
from reports.content import report_state, report_widgets
from reports.mail import unsubscribe_token
from reports.models import ReportRun
from tests.reports.conftest import make_report
from tests.targets.helpers import order

pytestmark = pytest.mark.django_db
SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
UTC = dt.UTC


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# Monday 6 Jul 2026 08:00 AEST.
SLOT = utc(2026, 7, 5, 22, 0)


def tick(now: dt.datetime) -> None:
    call_command("dispatch_reports", now=now.isoformat(), stdout=open("/dev/null", "w"))


def pdf_text(path: str) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", path, "-"], check=True, capture_output=True, text=True
    ).stdout


def test_a_due_report_is_mailed_once_however_often_the_tick_runs(smtp, org, owner):
    report = make_report(org, owner, recipients=["ceo@client.test", "cfo@client.test"])
    for now in (SLOT, SLOT + dt.timedelta(seconds=20), SLOT + dt.timedelta(minutes=1)):
        tick(now)
    tick(SLOT + dt.timedelta(minutes=3))
    run = ReportRun.objects.get(report=report)
    assert (run.slot, run.status, run.attempt) == (SLOT, "sent", 1)
    assert sorted(to for _, tos in smtp.recorder.envelopes for to in tos) == [
        "ceo@client.test",
        "cfo@client.test",
    ]
    assert run.delivered_to == ["ceo@client.test", "cfo@client.test"]
    assert run.message_id.split() == smtp.recorder.message_ids()


def test_the_message_id_is_the_same_for_every_attempt_at_a_slot(smtp, org, owner):
    report = make_report(org, owner)
    tick(SLOT)
    first = smtp.recorder.message_ids()[0]
    assert first.startswith(f"<report-{report.pk}.20260705T220000Z.")
    assert first.endswith("@renoz.example>")
    ReportRun.objects.all().delete()
    tick(SLOT + dt.timedelta(minutes=1))
    assert smtp.recorder.message_ids() == [first, first]


def test_the_email_has_text_html_the_pdf_a_dashboard_link_and_one_click_unsubscribe(
    smtp, org, owner
):
    # Two orders in the 7 days to the slot (30 Jun – 6 Jul, to date): $10,000 + $2,345.
    order(org, dt.datetime(2026, 7, 1, 10, 0, tzinfo=SYDNEY), 1_000_000)
    order(org, dt.datetime(2026, 7, 3, 15, 0, tzinfo=SYDNEY), 234_500)
    make_report(org, owner, name="Revenue weekly")
    tick(SLOT)
    [message] = smtp.messages
    assert message["Subject"] == "Revenue weekly · 30 Jun – 6 Jul 2026"
    assert message["To"] == "ceo@client.test"
    link = str(message["List-Unsubscribe"]).strip()
    assert link.startswith("<https://dash.renoz.test/dashboard/reports/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "- Revenue: $12,345" in text
    dashboard = (
        "https://dash.renoz.test/dashboard/?from=2026-06-30&to=2026-07-06&compare=previous_period"
    )
    assert dashboard in text
    assert dashboard.replace("&", "&amp;") in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content()[:5] == b"%PDF-"


def test_the_pdf_number_is_the_same_string_as_the_card(smtp, org, owner, tmp_path):
    order(org, dt.datetime(2026, 7, 1, 10, 0, tzinfo=SYDNEY), 1_000_000)
    order(org, dt.datetime(2026, 7, 3, 15, 0, tzinfo=SYDNEY), 234_500)
    report = make_report(org, owner, widgets=["kpi:revenue", "trend:revenue"])
    tick(SLOT)
    card = build_widget(
        {"id": "x", "type": "kpi", "settings": {"metric": "revenue"}},
        org,
        owner,
        report_state(report, SLOT),
    )
    assert card["value"] == "$12,345"
    run = ReportRun.objects.get(report=report)
    text = pdf_text(run.pdf.path)
    assert "Revenue" in text and "$12,345" in text
    # The top records behind revenue: both orders, largest first, exact amounts.
    assert text.index("$10,000.00") < text.index("$2,345.00")
    assert "Page 1 of" in text


def test_an_smtp_failure_is_retried_with_backoff_then_shown_as_failed(smtp, org, owner):
    report = make_report(org, owner)
    smtp.recorder.fail_next = 10
    tick(SLOT)
    run = ReportRun.objects.get(report=report)
    assert (run.status, run.attempt) == ("pending", 1)
    assert run.next_attempt_at == SLOT + dt.timedelta(minutes=1)
    assert "451" in run.error
    tick(SLOT + dt.timedelta(seconds=59))  # not yet
    run.refresh_from_db()
    assert run.attempt == 1
    tick(SLOT + dt.timedelta(minutes=1))
    run.refresh_from_db()
    assert (run.status, run.attempt, run.next_attempt_at) == (
        "pending",
        2,
        SLOT + dt.timedelta(minutes=3),  # backoff doubles: 2 minutes
    )
    tick(SLOT + dt.timedelta(minutes=3))
    run.refresh_from_db()
    assert (run.status, run.attempt, run.next_attempt_at) == ("failed", 3, None)
    assert run.error.startswith("Attempt 3: SMTPDataError: (451")
    assert smtp.messages == []


def test_a_retry_after_a_transient_failure_sends_once(smtp, org, owner):
    make_report(org, owner)
    smtp.recorder.fail_next = 1
    tick(SLOT)
    tick(SLOT + dt.timedelta(minutes=1))
    run = ReportRun.objects.get()
    assert (run.status, run.attempt, run.error) == ("sent", 2, "")
    assert len(smtp.messages) == 1


def test_a_report_that_cannot_render_fails_with_its_error_in_history(smtp, org, owner):
    report = make_report(org, owner)
    type(report).objects.filter(pk=report.pk).update(range_preset="last_fortnight")
    for minutes in (0, 1, 3):
        tick(SLOT + dt.timedelta(minutes=minutes))
    run = ReportRun.objects.get()
    assert (run.status, run.attempt) == ("failed", 3)
    assert "Unknown range 'last_fortnight'" in run.error


def test_a_run_stuck_in_working_past_the_timeout_is_taken_over(smtp, org, owner):
    report = make_report(org, owner)
    ReportRun.objects.create(report=report, slot=SLOT, status="working", attempt=1, claimed_at=SLOT)
    tick(SLOT + dt.timedelta(minutes=9))  # within the 10-minute timeout: left alone
    assert smtp.messages == []
    tick(SLOT + dt.timedelta(minutes=10, seconds=1))
    run = ReportRun.objects.get()
    assert (run.status, run.attempt) == ("sent", 2)
    assert len(smtp.messages) == 1


def test_a_stale_worker_cannot_finish_a_run_taken_over(smtp, org, owner):
    report = make_report(org, owner)
    run = ReportRun.objects.create(report=report, slot=SLOT)
    stale = dispatch.claim(run.pk, SLOT)
    late = SLOT + dt.timedelta(minutes=11)
    assert dispatch.claim(run.pk, late) == stale + 1
    assert dispatch._ours(run, stale).update(status="sent") == 0


def test_after_downtime_only_the_latest_missed_slot_is_sent(smtp, org, owner):
    report = make_report(org, owner)  # daily at 08:00
    tick(SLOT + dt.timedelta(days=3, hours=2))
    assert list(ReportRun.objects.values_list("slot", flat=True)) == [SLOT + dt.timedelta(days=3)]
    assert len(smtp.messages) == 1
    assert report.runs.count() == 1


def test_the_spring_forward_gap_sends_at_three_and_the_autumn_repeat_sends_once(smtp, org, owner):
    spring = make_report(
        org,
        owner,
        name="Spring",
        send_time=dt.time(2, 30),
        schedule_anchor=utc(2026, 10, 3, 12, 0),
    )
    tick(utc(2026, 10, 3, 15, 59))  # 01:59 AEST: not yet
    assert spring.runs.count() == 0
    tick(utc(2026, 10, 3, 16, 0))  # 03:00 AEDT, the next valid minute after 02:30
    assert list(spring.runs.values_list("slot", "status")) == [(utc(2026, 10, 3, 16, 0), "sent")]

    autumn = make_report(
        org,
        owner,
        name="Autumn",
        send_time=dt.time(2, 30),
        schedule_anchor=utc(2026, 4, 4, 12, 0),
    )
    for now in (utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30), utc(2026, 4, 4, 17, 0)):
        tick(now)  # 02:30 AEDT, 02:30 AEST again, 03:00 AEST
    assert list(autumn.runs.values_list("slot", flat=True)) == [utc(2026, 4, 4, 15, 30)]


def test_send_now_uses_its_own_slot_beside_the_scheduled_one(
    smtp, org, owner, client, django_capture_on_commit_callbacks
):
    report = make_report(org, owner)
    tick(SLOT)
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports-send-now", args=[report.pk]))
    assert response.status_code == 302
    kinds = sorted(report.runs.values_list("kind", "status"))
    assert kinds == [("manual", "sent"), ("scheduled", "sent")]
    manual = report.runs.get(kind="manual")
    assert manual.slot.second or manual.slot.microsecond
    assert len(smtp.messages) == 2


def test_one_click_unsubscribe_removes_only_that_recipient_without_login(smtp, org, owner, client):
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    tick(SLOT)
    mail_to_a = next(m for m in smtp.messages if m["To"] == "a@client.test")
    link = str(mail_to_a["List-Unsubscribe"]).strip()
    path = link.strip("<>").removeprefix("https://dash.renoz.test")
    assert client.get(path).status_code == 200  # a link scanner's GET changes nothing
    report.refresh_from_db()
    assert report.recipients == ["a@client.test", "b@client.test"]
    response = client.post(path, "List-Unsubscribe=One-Click", content_type="text/plain")
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.recipients == ["b@client.test"]
    assert report.active


def test_a_forged_unsubscribe_token_is_refused(org, owner, client):
    report = make_report(org, owner, recipients=["a@client.test"])
    token = unsubscribe_token(report.pk, "a@client.test")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(reverse("reports-unsubscribe", args=[forged]))
    assert response.status_code == 400
    report.refresh_from_db()
    assert report.recipients == ["a@client.test"]


def test_a_technician_owner_reports_their_own_jobs(smtp, org, users_by_role):
    tech = users_by_role["technician"]
    report = make_report(org, tech, widgets=["kpi:jobs_completed", "kpi:revenue"])
    # Revenue is not a technician's to see; the report prints only their jobs KPI.
    assert [w["id"] for w in report_widgets(report)] == ["kpi:jobs_completed"]
    assert CATALOGUE["kpi"].owner_for(tech, {"metric": "jobs_completed"}) == tech.pk


def test_a_takeover_after_an_unrecorded_handover_resends_with_the_same_message_id(smtp, org, owner):
    # A worker handed the message for a@ to SMTP and died before recording the reply; b@ had
    # already been recorded as delivered.
    report = make_report(org, owner, recipients=["a@client.test", "b@client.test"])
    ReportRun.objects.create(
        report=report,
        slot=SLOT,
        status="working",
        attempt=1,
        claimed_at=SLOT,
        handing_over="a@client.test",
        delivered_to=["b@client.test"],
    )
    tick(SLOT + dt.timedelta(minutes=11))
    run = ReportRun.objects.get()
    assert (run.status, run.attempt, run.uncertain_handovers) == ("sent", 2, 1)
    [message] = smtp.messages  # b@ is not mailed again
    assert message["To"] == "a@client.test"
    assert str(message["Message-ID"]) == run.message_id.split()[0]
