"""Dashboard domain: per-user and per-role widget layouts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Organization, Role
from accounts.tenancy import OrgQuerySet


class DashboardLayout(models.Model):
    """An ordered widget list, for one user or as a role's default.

    `widgets` is a list of {"id": <uuid hex>, "type": <widget type>, "size": "s"|"m"|"l",
    "settings": {...}}.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="dashboard_layout",
    )
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    widgets = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(role=""))
                | (Q(user__isnull=True) & ~Q(role="")),
                name="layout_user_xor_role",
            ),
            models.UniqueConstraint(
                fields=["organization", "role"],
                condition=Q(user__isnull=True),
                name="layout_role_default_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Layout for {self.user or self.role}"


class PersonalLayout(models.Model):
    """A user's own layout of their personal page (/dashboard/me/), once they edit it; until
    then they see their role's built-in personal layout (dashboard.layouts)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_layout"
    )
    widgets = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Personal layout for {self.user}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    WORKING = "working", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """A drill-down export too large for a web thread, written to storage by a worker
    (dashboard/export_jobs.py). Only its user, in its organisation, may see or download it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=63)
    params = models.TextField()  # the drill-down's query string, replayed by the worker
    fmt = models.CharField(max_length=4)
    rows = models.PositiveIntegerField(default=0)  # the drill total when asked
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    file = models.FileField(upload_to="exports/", blank=True)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.fmt} export of {self.metric} for {self.user_id}"
