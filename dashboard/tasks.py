"""Thin Celery entry points for the screens' jobs."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from accounts.models import Organization
from dashboard.export_jobs import build, purge_expired
from dashboard.layouts import warm_widgets
from insights.queries import warm_findings
from metrics import cache as metric_cache
from metrics.warming import common_states, warm_due_organizations

log = logging.getLogger("renoz.dashboard.tasks")


def _warm_screens(organization, states) -> int:
    """The 2 AM warming of the screens: the built-in layouts' widgets, then the stored findings
    (the insights widget is per user, so warm_widgets leaves it out)."""
    return warm_widgets(organization, states) + warm_findings(organization, states)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=900)
def nightly_warm_cache(force: bool = False) -> None:
    warmed = warm_due_organizations(force=force, widgets=_warm_screens)
    log.info("warmed cache for %d organisations", warmed)


def rewarm_screens(organization) -> int:
    """Compute again the built-in layouts' widget values over the common presets that writes
    dropped since they were cached (the others are found, one lookup each), so the next reader
    finds them: the misses of a working day are real changes to values that include today,
    and this moves their recomputation from the reader to the worker (docs/scaling.md, "Issue
    25, fourth stop: hit rate"). Returns the number of values looked up or computed."""
    return warm_widgets(organization, common_states(organization))


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=180)
def rewarm_after_refresh(org_id: int) -> None:
    """After the debounced refresh that follows a write: re-warm the organisation's screens,
    when someone has read its dashboards within the hour (metrics.cache.readers_recent)."""
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None or not metric_cache.readers_recent(org_id):
        return
    started = time.perf_counter()
    count = rewarm_screens(organization)
    log.info(
        "re-warmed %s: %d widget values in %.0f ms",
        organization.name,
        count,
        (time.perf_counter() - started) * 1000,
    )


def queue_rewarm(sender, organization_ids, **kwargs) -> None:
    """metrics.tasks.summaries_refreshed: queue the re-warm of each organisation's screens."""
    for org_id in organization_ids:
        try:
            rewarm_after_refresh.delay(org_id)
        except Exception as exc:  # noqa: BLE001 - the broker being down must not fail a refresh
            log.warning("could not queue the re-warm of organisation %s: %s", org_id, exc)


@shared_task(ignore_result=True, soft_time_limit=900, time_limit=960)
def build_export(job_id: int) -> None:
    """Write one large drill-down export to storage and mail its user (idempotent)."""
    log.info("export %s: %s", job_id, build(job_id))


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def purge_expired_exports() -> None:
    """Delete large exports' files past EXPORT_RETENTION_HOURS (dashboard/export_jobs.py)."""
    log.info("deleted %d expired export files", purge_expired())
