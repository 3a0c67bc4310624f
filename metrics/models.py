"""The metric layer's bookkeeping: each daily summary's watermark, days written since, and the nightly
per-user statistics. Tables keep their original dashboard_* names."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet


class SummaryRefresh(models.Model):
    """When each daily summary was last brought up to date: its watermark."""

    summary = models.CharField(max_length=63, primary_key=True)
    refreshed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "dashboard_viewrefresh"

    def __str__(self) -> str:
        return f"{self.summary} @ {self.refreshed_at:%Y-%m-%d %H:%M}"


class DirtyDay(models.Model):
    """A local day whose rows changed after its daily summary's last refresh.

    Readers take such days live from the event view instead of the summary. A refresh deletes the
    markers its snapshot covered. Rows are insert-only (no unique constraint) on purpose:
    see metrics.refresh.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    summary = models.CharField(max_length=63)
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dashboard_dirtyday"
        indexes = [
            models.Index(fields=["organization", "summary", "day"], name="dirtyday_org_summary_day")
        ]

    def __str__(self) -> str:
        return f"{self.summary} {self.day}"


class UserStatisticsDaily(models.Model):
    """One row per user per local day: a nightly cache of the metric layer's owner slice
    (metrics.statistics), read by the personal dashboard for days before today."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_statistics"
    )
    date = models.DateField()
    revenue_cents = models.BigIntegerField(default=0)
    orders = models.IntegerField(default=0)
    kwh_sold = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    quotes_won = models.IntegerField(default=0)
    quotes_lost = models.IntegerField(default=0)
    quotes_won_value = models.BigIntegerField(default=0)  # cents
    activities = models.IntegerField(default=0)
    jobs_completed = models.IntegerField(default=0)
    kwh_installed = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    labor_hours = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    computed_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        db_table = "dashboard_userstatisticsdaily"
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="userstats_user_date_unique")
        ]
        indexes = [models.Index(fields=["organization", "date"], name="userstats_org_date")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.date}"


class UserStatisticsProgress(models.Model):
    """The last local day whose UserStatisticsDaily rows the nightly job has written for an
    organisation: the next run fills every day after it, so a missed night is caught up."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_day = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboard_userstatisticsprogress"

    def __str__(self) -> str:
        return f"{self.organization_id} through {self.last_day}"
