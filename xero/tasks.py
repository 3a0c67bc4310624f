"""Celery entry points: the hourly sync of every connected organisation (beat, queue `xero`)."""

from __future__ import annotations

import logging

from celery import shared_task

from xero.client import XeroError, configured
from xero.models import XeroConnection
from xero.sync import SyncBusy, sync_organization

log = logging.getLogger(__name__)


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def sync_xero_organizations() -> int:
    """Queue one sync per connected organisation; nothing without Xero settings."""
    if not configured():
        return 0
    org_ids = list(XeroConnection.objects.values_list("organization_id", flat=True))
    for org_id in org_ids:
        sync_xero_organization.delay(org_id)
    return len(org_ids)


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def sync_xero_organization(org_id: int) -> None:
    try:
        sync_organization(org_id)
    except SyncBusy:
        log.info("xero sync of organisation %s skipped: one is running", org_id)
    except XeroError:
        # Already recorded as a failed run (docs/xero.md, "When a sync fails"); raised again so
        # the task fails and the system alerts count it (docs/alerts.md, "System alerts").
        log.warning("xero sync of organisation %s failed", org_id)
        raise
