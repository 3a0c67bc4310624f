"""Thin Celery entry points for insights: store an organisation's findings ahead of its readers
(after a refresh of its summaries; the 2 AM warming calls insights.queries.warm_findings)."""

from __future__ import annotations

import dataclasses
import logging

from celery import shared_task

from accounts.models import Organization, User
from insights.queries import get_insights, warm_findings
from metrics.filters import InvalidFilter, parse_filters
from metrics.periods import InvalidPeriod, parse_state
from metrics.warming import common_states

log = logging.getLogger("renoz.insights.tasks")

# Called with (organization, user, state) once a user's findings are stored: the dashboard
# renders its insights body ahead of the next page (dashboard.apps registers it).
_after_store: list = []


def register_after_store(hook) -> None:
    if hook not in _after_store:
        _after_store.append(hook)


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=180)
def store_findings(org_id: int) -> None:
    """Compute and store the organisation's findings over the common periods (the stored ones
    are kept: only those whose inputs changed are computed)."""
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        return
    count = warm_findings(organization, common_states(organization))
    log.info("stored findings of %s for %d period(s)", organization.name, count)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def store_findings_for(org_id: int, user_id: int | None, params: dict) -> None:
    """Compute and store the findings (and their narrative) of one period and scope: the
    dashboard page queues this when it found them missing (insights.queries.get_insights with
    `ready`), instead of computing them while a person waits."""
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        return
    user = None
    if user_id is not None:
        user = User.objects.filter(pk=user_id, organization=organization).first()
        if user is None:
            return
    try:
        state = parse_state(params, organization)
        state = dataclasses.replace(state, filters=parse_filters(params, organization))
    except (InvalidPeriod, InvalidFilter) as exc:
        log.warning("findings of %s not stored: %s", organization.name, exc)
        return
    get_insights(organization, state, user)
    if user is None:
        return
    for hook in _after_store:
        try:
            hook(organization, user, state)
        except Exception:  # the findings are stored; the page renders them itself
            log.exception("after storing findings of %s", organization.name)


def queue_after_refresh(sender, organization_ids, **kwargs) -> None:
    """metrics.tasks.summaries_refreshed: queue each organisation's findings."""
    for org_id in organization_ids:
        try:
            store_findings.delay(org_id)
        except Exception as exc:  # noqa: BLE001 - the broker being down must not fail a refresh
            log.warning("could not queue findings of organisation %s: %s", org_id, exc)
