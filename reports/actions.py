"""Writes to scheduled reports: the one place that changes them."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from infra.outbox.queue import publish
from reports import dispatch
from reports.models import ReportRun, RunKind, RunStatus, ScheduledReport
from reports.tasks import deliver_report_run

SCHEDULE_FIELDS = ("cadence", "send_time", "timezone", "weekday", "month_day")


def do_create_report(organization, **fields) -> ScheduledReport:
    """Create a report; slots before now are never sent."""
    report = ScheduledReport(organization=organization, schedule_anchor=timezone.now(), **fields)
    with transaction.atomic():
        report.full_clean()
        report.save()
    return report


def do_update_report(report: ScheduledReport, **changes) -> ScheduledReport:
    """Change a report; a changed schedule starts counting slots from now."""
    with transaction.atomic():
        report = ScheduledReport.objects.select_for_update().get(pk=report.pk)
        moved = any(
            getattr(report, name) != changes.get(name, getattr(report, name))
            for name in SCHEDULE_FIELDS
        )
        for name, value in changes.items():
            setattr(report, name, value)
        if moved:
            report.schedule_anchor = timezone.now()
        report.full_clean()
        report.save()
    return report


def do_set_report_active(report: ScheduledReport, active: bool) -> ScheduledReport:
    """Pause or resume; a resumed report does not send the slots it slept through."""
    with transaction.atomic():
        report = ScheduledReport.objects.select_for_update().get(pk=report.pk)
        if report.active == active:
            return report
        report.active = active
        if active:
            report.schedule_anchor = timezone.now()
        report.save(update_fields=["active", "schedule_anchor", "updated_at"])
    return report


def do_send_report_now(report: ScheduledReport) -> tuple[ReportRun, bool]:
    """(run, created): a manual run on its own slot, unless one is already on its way."""
    existing = ReportRun.objects.filter(
        report=report, kind=RunKind.MANUAL, status__in=[RunStatus.PENDING, RunStatus.WORKING]
    ).first()
    if existing is not None:
        return existing, False
    run = dispatch.create_manual_run(report)
    # A bounded publish: the pending run is its own outbox (the minute tick picks it up if this
    # publish is lost), so a stalled broker never holds the request.
    transaction.on_commit(lambda: publish(deliver_report_run.name, [run.pk]))
    return run, True


def do_unsubscribe(report_id: int, address: str) -> ScheduledReport | None:
    """Remove one address from a report's recipients (the last one pauses the report)."""
    with transaction.atomic():
        report = ScheduledReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            return None
        kept = [r for r in report.recipients if r.strip().lower() != address.strip().lower()]
        if kept == report.recipients:
            return report
        report.recipients = kept
        if not kept:
            report.active = False
        report.save(update_fields=["recipients", "active", "updated_at"])
    return report
