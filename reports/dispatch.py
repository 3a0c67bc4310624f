"""Sending each report slot exactly once.

A tick (every minute from beat, or `manage.py dispatch_reports`) creates a ReportRun for the
due slot of every active report; the unique (report, slot) constraint turns a second tick, a
second beat or a racing dispatcher into a no-op. Delivery then claims a run with a
conditional UPDATE (pending, or working past REPORTS_WORKING_TIMEOUT), renders the PDF, and
sends one message per recipient. Each message is "handed over" first (a fenced UPDATE that also
checks the claim is still ours) and recorded as delivered in the statement right after the SMTP
server's 250 reply, so a retry or a takeover never mails a recipient twice.

The one window left: the server has accepted a message (its 250 is on the wire) and the worker
dies before its next UPDATE commits. That is one SMTP reply plus one small UPDATE: about a
millisecond on a local network. The next claim sees the recorded handover, counts it in
`uncertain_handovers`, and resends with the same Message-ID, which a receiving server (or
a mail store) uses to drop the duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reports.content import build_content
from reports.mail import build_message, message_id
from reports.models import ReportRun, RunKind, RunStatus, ScheduledReport
from reports.render import pdf_filename, render_pdf
from reports.schedule import due_slot

log = logging.getLogger("renoz.reports")
MAX_ERROR = 2000
REQUEUE_AFTER = dt.timedelta(minutes=5)  # a queued run not picked up by then is queued again


def _timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.REPORTS_WORKING_TIMEOUT)


def backoff(attempt: int) -> dt.timedelta:
    """The wait before attempt `attempt + 1`: 1, 2, 4, 8 … × the base (1 min by default)."""
    return dt.timedelta(seconds=settings.REPORTS_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0))


@dataclass
class TickResult:
    now: dt.datetime
    created: int = 0
    run_ids: list[int] = field(default_factory=list)


def schedule_due_runs(now: dt.datetime) -> int:
    """Create the run of each active report's due slot (the latest one not after now); return
    how many were new. Safe to call from any number of dispatchers at once."""
    reports = ScheduledReport.objects.filter(active=True).select_related("organization")
    runs = []
    for report in reports.iterator(chunk_size=500):
        slot = due_slot(report, now)
        if slot is not None:
            runs.append(ReportRun(report=report, slot=slot, next_attempt_at=slot))
    if not runs:
        return 0
    before = ReportRun.objects.filter(slot__in={r.slot for r in runs}).count()
    # Tricky: ON CONFLICT DO NOTHING on (report, slot) is what makes a slot run once.
    ReportRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=500)
    after = ReportRun.objects.filter(slot__in={r.slot for r in runs}).count()
    return after - before


def runnable_run_ids(now: dt.datetime) -> list[int]:
    """Runs a worker should try now: pending and due, or working past the timeout."""
    stale = now - _timeout()
    return list(
        ReportRun.objects.filter(
            Q(status=RunStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=RunStatus.PENDING, next_attempt_at__isnull=True)
            | Q(status=RunStatus.WORKING, claimed_at__lt=stale)
        )
        .order_by("slot", "pk")
        .values_list("pk", flat=True)
    )


def tick(now: dt.datetime | None = None, *, enqueue: bool = False) -> TickResult:
    """One dispatcher tick: create due runs and list the ones to deliver. With `enqueue`, the
    pending ones are pushed back REQUEUE_AFTER so the next tick does not queue them again."""
    now = now or timezone.now()
    result = TickResult(now=now, created=schedule_due_runs(now))
    result.run_ids = runnable_run_ids(now)
    if enqueue and result.run_ids:
        ReportRun.objects.filter(pk__in=result.run_ids, status=RunStatus.PENDING).update(
            next_attempt_at=now + REQUEUE_AFTER
        )
    return result


# --- Delivery ---------------------------------------------------------------------------------


def claim(run_id: int, now: dt.datetime) -> int | None:
    """Take the run for this worker; the new attempt number, or None if someone else has it."""
    taken = (
        ReportRun.objects.filter(pk=run_id)
        .filter(
            Q(status=RunStatus.PENDING)
            | Q(status=RunStatus.WORKING, claimed_at__lt=now - _timeout())
        )
        .update(
            status=RunStatus.WORKING,
            attempt=F("attempt") + 1,
            claimed_at=now,
            started_at=timezone.now(),
            finished_at=None,
        )
    )
    if taken != 1:
        return None
    return ReportRun.objects.values_list("attempt", flat=True).get(pk=run_id)


def _ours(run: ReportRun, attempt: int):
    """The run's row, only while this attempt still holds the claim."""
    return ReportRun.objects.filter(pk=run.pk, attempt=attempt, status=RunStatus.WORKING)


class LostClaim(RuntimeError):
    """Another worker took the run over; stop without sending."""


def _render_and_store(run: ReportRun, attempt: int, now: dt.datetime):
    content = build_content(run.report, run.slot if run.kind == RunKind.SCHEDULED else now)
    pdf = render_pdf(content)
    filename = pdf_filename(content)
    if not run.pdf:
        run.pdf.save(f"run-{run.pk}-{filename}", ContentFile(pdf), save=False)
        if not _ours(run, attempt).update(pdf=run.pdf.name):
            raise LostClaim(run.pk)
    return content, pdf, filename


def deliver(run_id: int, now: dt.datetime | None = None) -> str:
    """Claim, render and send one run; returns what happened ("sent", "retry", "failed",
    "skipped")."""
    clock = now or timezone.now()
    attempt = claim(run_id, clock)
    if attempt is None:
        return "skipped"
    run = ReportRun.objects.select_related("report", "report__organization", "report__owner").get(
        pk=run_id
    )
    report = run.report
    if run.handing_over:
        # The previous attempt died between handing a message to SMTP and recording the reply.
        _ours(run, attempt).update(
            uncertain_handovers=F("uncertain_handovers") + 1, handing_over=""
        )
        log.warning(
            "run %s: resending to %s after an unrecorded handover", run.pk, run.handing_over
        )
    recipients = list(dict.fromkeys(report.recipients))
    delivered = list(run.delivered_to)
    _ours(run, attempt).update(recipients=recipients)
    try:
        if not recipients:
            raise ValueError("The report has no recipients")
        content, pdf, filename = _render_and_store(run, attempt, clock)
        ids = [message_id(report.pk, run.slot, r) for r in recipients]
        with get_connection(fail_silently=False) as connection:
            for recipient in recipients:
                if recipient in delivered:
                    continue
                message = build_message(content, recipient, run.slot, pdf, filename)
                if not _ours(run, attempt).update(handing_over=recipient, claimed_at=clock):
                    raise LostClaim(run.pk)
                if connection.send_messages([message]) != 1:
                    raise OSError(f"The mail server did not accept the message to {recipient}")
                delivered.append(recipient)
                # In the same breath as the server's 250: record who has it.
                _ours(run, attempt).update(delivered_to=delivered, handing_over="")
        finished = _ours(run, attempt).update(
            status=RunStatus.SENT,
            finished_at=timezone.now(),
            message_id=" ".join(ids),
            error="",
        )
        if finished:
            log.info("run %s: %s sent to %d recipients", run.pk, report.name, len(recipients))
        return "sent" if finished else "skipped"
    except LostClaim:
        log.warning("run %s: claim taken over; stopping attempt %s", run.pk, attempt)
        return "skipped"
    except Exception as exc:  # noqa: BLE001 - SMTP, rendering and data errors all retry
        return _fail(run, attempt, exc, clock)


def _fail(run: ReportRun, attempt: int, exc: Exception, now: dt.datetime) -> str:
    error = f"Attempt {attempt}: {type(exc).__name__}: {exc}"[:MAX_ERROR]
    final = attempt >= settings.REPORTS_MAX_ATTEMPTS
    _ours(run, attempt).update(
        status=RunStatus.FAILED if final else RunStatus.PENDING,
        error=error,
        handing_over="",
        finished_at=timezone.now(),
        next_attempt_at=None if final else now + backoff(attempt),
    )
    log.warning("run %s: %s (%s)", run.pk, error, "gave up" if final else "will retry")
    return "failed" if final else "retry"


def create_manual_run(report: ScheduledReport, now: dt.datetime | None = None) -> ReportRun:
    """A "send now" run: its own slot (never a whole minute, so never a scheduled slot)."""
    now = now or timezone.now()
    slot = now if (now.second or now.microsecond) else now + dt.timedelta(microseconds=1)
    with transaction.atomic():
        return ReportRun.objects.create(
            report=report, slot=slot, kind=RunKind.MANUAL, next_attempt_at=now
        )
