"""Alert rules, their state per series, their history and their outbox (docs/alerts.md).

An AlertRule watches one metric (or, for system alerts, the jobs and the data's freshness).
Each check moves an AlertState (one per rule and series). Every change of state is an
AlertEvent, unique (rule, seq); the notifications it causes are Notification rows, one per
channel and recipient, unique (event, channel, target), written in the same transaction.
Senders claim those rows, so each notification goes out once however many evaluators and
senders run (alerts.delivery).
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import Organization, validate_timezone
from accounts.tenancy import OrgQuerySet
from metrics.periods import COMPARISONS, PRESETS

MAX_RECIPIENTS = 20


class Kind(models.TextChoices):
    METRIC = "metric", "Metric"
    SYSTEM = "system", "System"


class Condition(models.TextChoices):
    ABOVE = "above", "is above"
    BELOW = "below", "is below"
    CHANGE_UP = "change_up_pct", "rises by more than (%)"
    CHANGE_DOWN = "change_down_pct", "falls by more than (%)"
    TARGET_STATUS = "target_status", "target status is"
    # System alerts (kind=system): one series per job, or per daily summary.
    JOB_FAILING = "job_failing", "a job keeps failing"
    DATA_STALE = "data_stale", "data is older than its cadence allows"


METRIC_CONDITIONS = (
    Condition.ABOVE,
    Condition.BELOW,
    Condition.CHANGE_UP,
    Condition.CHANGE_DOWN,
    Condition.TARGET_STATUS,
)


class TargetLevel(models.TextChoices):
    # Each includes the worse ones: "at risk" fires on at risk, behind and missed.
    AT_RISK = "at_risk", "at risk or worse"
    BEHIND = "behind", "behind or missed"
    MISSED = "missed", "missed"


class State(models.TextChoices):
    OK = "ok", "OK"
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    NO_DATA = "no_data", "No data"
    ERROR = "error", "Error"


class Notice(models.TextChoices):
    NONE = "", "—"
    FIRED = "fired", "Fired"
    RESOLVED = "resolved", "Resolved"
    FLAPPING = "flapping", "Flapping"
    SETTLED = "settled", "Settled"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class AlertRule(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.METRIC)
    metric = models.CharField(max_length=50, blank=True)  # a metrics.definitions key
    condition = models.CharField(max_length=20, choices=Condition.choices)
    # In the metric's API unit (cents, 0–1 for ratios), or percent for change_*_pct.
    threshold = models.FloatField(null=True, blank=True)
    target_status = models.CharField(max_length=10, choices=TargetLevel.choices, blank=True)
    resolve_threshold = models.FloatField(null=True, blank=True)
    range_preset = models.CharField(
        max_length=30, choices=list(PRESETS.items()), default="yesterday"
    )
    compare = models.CharField(
        max_length=20, choices=list(COMPARISONS.items()), default="previous_period"
    )
    filters = models.JSONField(default=dict, blank=True)  # {param: value}, metrics.filters
    pending_checks = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    recipients = models.JSONField(default=list, blank=True)  # e-mail addresses
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=64, default=new_secret)
    active = models.BooleanField(default=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seq = models.PositiveIntegerField(default=0)  # the rule's last AlertEvent.seq

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["organization", "active"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="system") | ~Q(metric=""), name="alerts_rule_metric_set"
            ),
            models.UniqueConstraint(
                fields=["organization", "condition"],
                condition=Q(kind="system"),
                name="alerts_one_system_rule_per_condition",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def definition(self) -> dict:
        """What the rule watches, as the JSON API and the webhook payload both print it."""
        return {
            "metric": self.metric or None,
            "condition": self.condition,
            "threshold": self.threshold,
            "resolve_threshold": self.resolve_threshold,
            "target_status": self.target_status or None,
            "range": self.range_preset,
            "compare": self.compare,
            "filters": self.filters,
        }

    def is_snoozed(self, now) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now


class AlertState(models.Model):
    """Where one series of a rule stands. Metric rules have one series (""); system rules
    have one per job or daily summary."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    series = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OK)
    value = models.FloatField(null=True, blank=True)
    value_text = models.CharField(max_length=200, blank=True)  # a status word, an error
    breaches = models.PositiveIntegerField(default=0)  # breaches in a row
    notified = models.BooleanField(default=False)  # the last notice sent said "firing"
    flapping = models.BooleanField(default=False)
    recent = models.JSONField(default=list)  # the states of the last checks, oldest first
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_slot = models.DateTimeField(null=True, blank=True)  # the check slot last applied

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "series"], name="alerts_state_per_series")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.series or '-'} {self.state}"


class AlertEvent(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    series = models.CharField(max_length=100, blank=True, default="")
    seq = models.PositiveIntegerField()
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    notice = models.CharField(max_length=10, choices=Notice.choices, blank=True, default="")
    value = models.FloatField(null=True, blank=True)
    value_text = models.CharField(max_length=200, blank=True)
    threshold = models.CharField(max_length=200, blank=True)  # the line, as the rule words it
    suppressed = models.CharField(max_length=200, blank=True)  # why nobody was told
    at = models.DateTimeField()

    class Meta:
        ordering = ["-seq"]
        constraints = [models.UniqueConstraint(fields=["rule", "seq"], name="alerts_event_seq")]

    def __str__(self) -> str:
        return f"{self.rule_id}#{self.seq} {self.from_state}->{self.to_state}"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class Delivery(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OFF = "off", "Off"


class Follow(models.Model):
    """A user follows one metric with one set of dashboard filters (docs/digests.md).

    `filters` is the card's canonical filter state: the validated (param, value) pairs of
    `DashboardState.filters` as an object, so the same card always gives the same row."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    metric = models.CharField(max_length=50)  # a metrics.definitions key
    filters = models.JSONField(default=dict, blank=True)  # {param: value}, metrics.filters
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "metric", "filters"], name="alerts_one_follow_per_card"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.metric} {self.filters or ''}"


class DigestSettings(models.Model):
    """When a user's digest goes out: cadence, local send time (weekly: and weekday), and the
    timezone (blank: the organisation's). `last_slot` is the last slot a digest run settled
    for this user (mailed or found nothing to say), claimed under a row lock."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_settings"
    )
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.DAILY)
    send_time = models.TimeField(default=dt.time(7, 0))
    weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)]
    )  # Monday = 0, for weekly digests
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])
    # The role's default follows were considered (added when the user followed nothing yet).
    defaults_applied = models.BooleanField(default=False)
    last_slot = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["cadence", "last_slot"])]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.cadence} at {self.send_time}"

    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or self.organization.timezone)


class Digest(models.Model):
    """One user's digest for one slot, unique (user, slot): what it said, rendered once so
    every send attempt mails the same message. `mailed` is false when nothing had changed
    (no outbox row then)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests"
    )
    slot = models.DateTimeField()
    period_start = models.DateField()
    period_end = models.DateField()
    mailed = models.BooleanField(default=False)
    items = models.JSONField(default=list)  # the ranked items, as built (alerts.digest)
    subject = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slot"]
        constraints = [
            models.UniqueConstraint(fields=["user", "slot"], name="alerts_one_digest_per_slot")
        ]

    def __str__(self) -> str:
        return f"digest {self.user_id} @ {self.slot:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """The outbox: one row per (event, channel, target), or per (digest, channel, target)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(
        AlertEvent, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
    )
    digest = models.ForeignKey(
        Digest, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=500)  # an e-mail address or the webhook URL
    status = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)  # "host:pid" of the sender
    sent_at = models.DateTimeField(null=True, blank=True)
    uncertain_resends = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "target"], name="alerts_one_notification_per_target"
            ),
            models.UniqueConstraint(
                fields=["digest", "channel", "target"],
                condition=Q(digest__isnull=False),
                name="alerts_one_digest_notification_per_target",
            ),
            models.CheckConstraint(
                condition=Q(event__isnull=True, digest__isnull=False)
                | Q(event__isnull=False, digest__isnull=True),
                name="alerts_notification_of_event_or_digest",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target}: {self.status}"


class JobHealth(models.Model):
    """How a background job has been going, for system alerts: recorded from Celery's task
    signals (alerts.system)."""

    name = models.CharField(max_length=200, primary_key=True)  # the task's name
    kind = models.CharField(max_length=20)  # refresh, statistics, reports, sync
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.consecutive_failures} failures in a row"
