"""What insights remember: findings a user marked "not useful", and each organisation's daily
count of narration calls (its budget)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet


class DismissedFinding(models.Model):
    """A finding one user dismissed or marked "not useful", by its stable id (its fingerprint:
    kind, metric, period or record, filters): hidden from them until they show it again."""

    DISMISSED = "dismissed"
    NOT_USEFUL = "not_useful"
    REASONS = [(DISMISSED, "Dismissed"), (NOT_USEFUL, "Not useful")]

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    finding_id = models.CharField(max_length=200)
    reason = models.CharField(max_length=12, choices=REASONS, default=NOT_USEFUL)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "finding_id"], name="dismissed_finding_once")
        ]
        indexes = [models.Index(fields=["organization", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.finding_id}"


class NarrationUsage(models.Model):
    """Narration calls an organisation made on one local day, against its daily budget."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="narration_usage_daily")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}: {self.calls}"
