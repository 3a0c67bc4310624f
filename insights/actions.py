"""Writes of insights: a user's "dismiss" or "not useful" mark and its undoing, and claiming a narration call from the
organisation's daily budget."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from infra.contextcache import context_cache
from insights.models import DismissedFinding, NarrationUsage

MAX_FINDING_ID = 200
DISMISSED_CACHE_SECONDS = 3600


def dismissed_key(user_id: int) -> str:
    """The request context cache's entry of a user's hidden findings (insights.queries)."""
    return f"insights:dismissed:{user_id}"


def _forget_dismissed(user) -> None:
    """Drop the user's cached marks now and again when the transaction commits, so no reader
    caches the rows being replaced (as accounts.cache does for users)."""
    key = dismissed_key(user.pk)
    context_cache.delete(key)
    transaction.on_commit(lambda: context_cache.delete(key))


def do_dismiss_finding(user, finding_id: str, reason: str = DismissedFinding.NOT_USEFUL) -> bool:
    """Hide a finding from `user` ("dismissed" or "not useful") until they show it again;
    returns False when it was already hidden (its reason is updated)."""
    finding_id = finding_id.strip()
    if not finding_id or len(finding_id) > MAX_FINDING_ID:
        raise ValueError(f"A finding id is 1 to {MAX_FINDING_ID} characters")
    if reason not in dict(DismissedFinding.REASONS):
        raise ValueError("The reason is dismissed or not_useful")
    mark, created = DismissedFinding.objects.get_or_create(
        organization_id=user.organization_id,
        user=user,
        finding_id=finding_id,
        defaults={"reason": reason},
    )
    if not created and mark.reason != reason:
        mark.reason = reason
        mark.save(update_fields=["reason"])
    _forget_dismissed(user)
    return created


def do_restore_finding(user, finding_id: str) -> bool:
    """Show a hidden finding to `user` again; False when they had not hidden it."""
    deleted, _ = (
        DismissedFinding.objects.for_org(user.organization_id)
        .filter(user=user, finding_id=finding_id.strip())
        .delete()
    )
    _forget_dismissed(user)
    return bool(deleted)


def do_claim_narration_call(organization, now: dt.datetime) -> bool:
    """Take one call from the organisation's budget for its local day; False when spent."""
    budget = settings.INSIGHTS_DAILY_LLM_CALLS
    if budget <= 0:
        return False
    day = now.astimezone(organization.tz).date()
    usage = NarrationUsage.objects.filter(organization=organization, day=day)
    # Tricky: a conditional UPDATE claims the call atomically; the unique (organization, day)
    # row is created once, and a racing creator retries the update.
    if usage.filter(calls__lt=budget).update(calls=F("calls") + 1):
        return True
    if usage.exists():
        return False
    try:
        with transaction.atomic():
            NarrationUsage.objects.create(organization=organization, day=day, calls=1)
        return True
    except IntegrityError:
        return bool(usage.filter(calls__lt=budget).update(calls=F("calls") + 1))
