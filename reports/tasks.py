"""Thin Celery entry points: the minute tick and the delivery of one run."""

from __future__ import annotations

import logging

from celery import shared_task

from alerts.system import REPORT_DELIVERY, record_job
from infra.outbox.queue import publish
from reports import dispatch

log = logging.getLogger("renoz.reports.tasks")


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=58)
def dispatch_reports() -> None:
    """Create due runs and hand each to a worker; rendering and sending happen there."""
    result = dispatch.tick(enqueue=True)
    for run_id in result.run_ids:
        if not publish(deliver_report_run.name, [run_id]):
            break  # the broker is away: the runs stay pending for the next tick
    if result.created or result.run_ids:
        log.info("tick: %d new run(s), %d queued", result.created, len(result.run_ids))


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def deliver_report_run(run_id: int) -> None:
    """Claim, render and send one run (idempotent: a taken or finished run is skipped)."""
    outcome = dispatch.deliver(run_id)
    log.info("run %s: %s", run_id, outcome)
    if outcome != "skipped":
        # For system alerts (docs/alerts.md): the retries happen inside this task.
        record_job(REPORT_DELIVERY, ok=outcome == "sent", error=f"run {run_id}: {outcome}")
