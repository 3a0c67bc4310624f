"""Dashboard domain: layouts, per-user nightly statistics, refresh bookkeeping, and read-only
models over the materialized views."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from renoz.accounts.models import Organization, Role
from renoz.accounts.tenancy import OrgQuerySet

VIEW_NAMES = [
    "mv_daily_metrics",
    "mv_daily_pipeline",
    "mv_daily_jobs",
    "mv_daily_warranty",
    "mv_daily_customers",
    "mv_daily_activities",
    "mv_current_state",
]


class ViewRefresh(models.Model):
    """When each materialized view was last refreshed: its watermark."""

    view_name = models.CharField(max_length=63, primary_key=True)
    refreshed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.view_name} @ {self.refreshed_at:%Y-%m-%d %H:%M}"


class DirtyDay(models.Model):
    """A local day whose rows changed after the view's last refresh.

    Readers take such days from the live tables instead of the view. A refresh deletes the
    markers its snapshot covered. Rows are insert-only (no unique constraint) on purpose:
    see dashboard.refresh.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    view_name = models.CharField(max_length=63)
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "view_name", "day"], name="dirtyday_org_view_day")
        ]

    def __str__(self) -> str:
        return f"{self.view_name} {self.day}"


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


class UserStatisticsDaily(models.Model):
    """One row per user per local day: the personal metrics of /dashboard/me/."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_statistics"
    )
    date = models.DateField()
    revenue_cents = models.BigIntegerField(default=0)
    orders = models.IntegerField(default=0)
    quotes_won = models.IntegerField(default=0)
    quotes_lost = models.IntegerField(default=0)
    activities = models.IntegerField(default=0)
    jobs_completed = models.IntegerField(default=0)
    kwh_installed = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    labor_hours = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    computed_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="userstats_user_date_unique")
        ]
        indexes = [models.Index(fields=["organization", "date"], name="userstats_org_date")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.date}"


# --- Read-only models over the materialized views -----------------------------------------


class ReadOnlyView(models.Model):
    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True
        managed = False

    def save(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is a read-only materialized view")

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is a read-only materialized view")


class DailyMetrics(ReadOnlyView):
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField(
        primary_key=True
    )  # Tricky: Django needs a pk; (org, day) is the real key
    revenue_cents = models.BigIntegerField()
    orders = models.BigIntegerField()
    kwh_sold = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_daily_metrics"

    def __str__(self) -> str:
        return f"{self.day}"


class DailyPipeline(ReadOnlyView):
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField(primary_key=True)
    stage = models.CharField(max_length=20)
    opened_count = models.BigIntegerField()
    opened_value = models.BigIntegerField()
    opened_weighted = models.BigIntegerField()
    closed_count = models.BigIntegerField()
    closed_value = models.BigIntegerField()
    closed_weighted = models.BigIntegerField()

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_daily_pipeline"

    def __str__(self) -> str:
        return f"{self.day} {self.stage}"


class DailyJobs(ReadOnlyView):
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField(primary_key=True)
    status = models.CharField(max_length=20)
    opened_count = models.BigIntegerField()
    closed_count = models.BigIntegerField()
    completed_count = models.BigIntegerField()
    completed_kwh = models.DecimalField(max_digits=14, decimal_places=2)
    labor_hours = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_daily_jobs"

    def __str__(self) -> str:
        return f"{self.day} {self.status}"


class DailyWarranty(ReadOnlyView):
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField(primary_key=True)
    kind = models.CharField(max_length=20)
    status = models.CharField(max_length=20)
    opened_count = models.BigIntegerField()
    opened_cost = models.BigIntegerField()
    closed_count = models.BigIntegerField()

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_daily_warranty"

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.status}"


class DailyCustomers(ReadOnlyView):
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField(primary_key=True)
    opened_count = models.BigIntegerField()
    closed_count = models.BigIntegerField()

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_daily_customers"

    def __str__(self) -> str:
        return f"{self.day}"


class DailyActivities(ReadOnlyView):
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+")
    day = models.DateField(primary_key=True)
    kind = models.CharField(max_length=20)
    activity_count = models.BigIntegerField()

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_daily_activities"

    def __str__(self) -> str:
        return f"{self.day} {self.kind}"


class CurrentState(ReadOnlyView):
    organization = models.OneToOneField(
        Organization, on_delete=models.DO_NOTHING, primary_key=True, related_name="+"
    )
    open_opportunities = models.BigIntegerField()
    pipeline_value = models.BigIntegerField()
    active_installations = models.BigIntegerField()
    open_warranty_claims = models.BigIntegerField()
    customer_count = models.BigIntegerField()
    computed_at = models.DateTimeField()

    class Meta(ReadOnlyView.Meta):
        db_table = "mv_current_state"

    def __str__(self) -> str:
        return f"state of {self.organization_id}"
