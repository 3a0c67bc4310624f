"""Thin Celery entry points for insights: store an organisation's findings ahead of its readers
(after a refresh of its summaries; the 2 AM warming calls insights.queries.warm_findings)."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.models import Organization
from insights.queries import warm_findings
from metrics.warming import common_states

log = logging.getLogger("renoz.insights.tasks")


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=180)
def store_findings(org_id: int) -> None:
    """Compute and store the organisation's findings over the common periods (the stored ones
    are kept: only those whose inputs changed are computed)."""
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        return
    count = warm_findings(organization, common_states(organization))
    log.info("stored findings of %s for %d period(s)", organization.name, count)


def queue_after_refresh(sender, organization_ids, **kwargs) -> None:
    """metrics.tasks.summaries_refreshed: queue each organisation's findings."""
    for org_id in organization_ids:
        try:
            store_findings.delay(org_id)
        except Exception as exc:  # noqa: BLE001 - the broker being down must not fail a refresh
            log.warning("could not queue findings of organisation %s: %s", org_id, exc)
