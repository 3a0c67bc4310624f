"""Scheduled reports and their runs (docs/architecture.md, "Layers").

A ScheduledReport says what to print (widgets, range preset, comparison, seen as its owner
sees the dashboard), to whom, and when (cadence, local send time, timezone). A ReportRun is one
send of one slot: the aware instant the send was due. (report, slot) is unique, which is what
makes a slot go out once however many dispatchers race for it (reports.dispatch).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import Organization, validate_timezone
from accounts.tenancy import OrgQuerySet
from metrics.periods import COMPARISONS

MAX_RECIPIENTS = 50


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Compare(models.TextChoices):
    # The words are metrics.periods.COMPARISONS'.
    NONE = "none", COMPARISONS["none"]
    PREVIOUS_PERIOD = "previous_period", COMPARISONS["previous_period"]
    PREVIOUS_YEAR = "previous_year", COMPARISONS["previous_year"]


WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday")]
WEEKDAYS += [(4, "Friday"), (5, "Saturday"), (6, "Sunday")]


def _blank_timezone() -> str:
    return ""


class ScheduledReport(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_reports"
    )
    name = models.CharField(max_length=200)
    recipients = models.JSONField(default=list)  # e-mail addresses, 1–50
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.WEEKLY)
    send_time = models.TimeField(default=dt.time(8, 0))  # local time in `timezone`
    # IANA name; blank means the organisation's (resolved by `tz`).
    timezone = models.CharField(
        max_length=64, blank=True, default=_blank_timezone, validators=[validate_timezone]
    )
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=WEEKDAYS, validators=[MaxValueValidator(6)]
    )
    month_day = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    widgets = models.JSONField(default=list, blank=True)  # catalogue widget ids; [] = layout
    range_preset = models.CharField(max_length=30, default="last_7_days")
    compare = models.CharField(
        max_length=20, choices=Compare.choices, default=Compare.PREVIOUS_PERIOD
    )
    active = models.BooleanField(default=True)
    # Slots before this instant are never sent (set when the schedule is created, changed or
    # resumed from the screens, so saving at 09:00 does not mail the 08:00 slot just passed).
    # Null: every slot counts (reports created by scripts).
    schedule_anchor = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["organization", "active"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(month_day__isnull=True) | Q(month_day__gte=1, month_day__lte=28),
                name="report_month_day_1_28",
            ),
            models.CheckConstraint(
                condition=Q(weekday__isnull=True) | Q(weekday__lte=6),
                name="report_weekday_0_6",
            ),
            models.CheckConstraint(
                condition=Q(cadence__in=[c.value for c in Cadence]), name="report_cadence_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.timezone and self.organization_id:
            self.timezone = Organization.objects.get(pk=self.organization_id).timezone
        super().save(*args, **kwargs)

    @property
    def tz_name(self) -> str:
        return self.timezone or self.organization.timezone

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.tz_name)


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WORKING = "working", "Working"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class RunKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL = "manual", "Send now"


class ReportRun(models.Model):
    report = models.ForeignKey(ScheduledReport, on_delete=models.CASCADE, related_name="runs")
    slot = models.DateTimeField()  # the aware instant the send was due (stored in UTC)
    kind = models.CharField(max_length=10, choices=RunKind.choices, default=RunKind.SCHEDULED)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    attempt = models.PositiveIntegerField(default=0)  # claims so far; fences a stale worker
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # retry / re-enqueue time
    claimed_at = models.DateTimeField(null=True, blank=True)  # heartbeat of the working claim
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    pdf = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    message_id = models.TextField(blank=True)  # the Message-IDs sent, space-separated
    recipients = models.JSONField(default=list, blank=True)  # who this run goes to
    delivered_to = models.JSONField(default=list, blank=True)  # accepted by SMTP so far
    # Times a message was handed to SMTP by an attempt that then died before recording the
    # answer; the resend carries the same Message-ID so the receiver can drop a duplicate.
    uncertain_handovers = models.PositiveIntegerField(default=0)
    handing_over = models.CharField(max_length=254, blank=True)  # recipient mid-handover
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slot", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "slot"], name="report_run_once_per_slot"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in RunStatus]), name="report_run_status"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.report} @ {self.slot:%Y-%m-%d %H:%M} UTC"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None
