"""Thin Celery entry points for the screens' jobs."""

from __future__ import annotations

import logging

from celery import shared_task

from dashboard.export_jobs import build, purge_expired
from dashboard.layouts import warm_widgets
from insights.queries import warm_findings
from metrics.warming import warm_due_organizations

log = logging.getLogger("renoz.dashboard.tasks")


def _warm_screens(organization, states) -> int:
    """The 2 AM warming of the screens: the built-in layouts' widgets, then the stored findings
    (the insights widget is per user, so warm_widgets leaves it out)."""
    return warm_widgets(organization, states) + warm_findings(organization, states)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=900)
def nightly_warm_cache(force: bool = False) -> None:
    warmed = warm_due_organizations(force=force, widgets=_warm_screens)
    log.info("warmed cache for %d organisations", warmed)


@shared_task(ignore_result=True, soft_time_limit=900, time_limit=960)
def build_export(job_id: int) -> None:
    """Write one large drill-down export to storage and mail its user (idempotent)."""
    log.info("export %s: %s", job_id, build(job_id))


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def purge_expired_exports() -> None:
    """Delete large exports' files past EXPORT_RETENTION_HOURS (dashboard/export_jobs.py)."""
    log.info("deleted %d expired export files", purge_expired())
