"""The operational records the dashboard measures.

Money is bigint AUD cents excluding GST; energy is kWh as numeric(12,2); times are
timestamptz. Every table carries organization_id, first in every composite index, and the
database itself refuses rows that break the rules (check constraints below).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet


def choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


def non_negative(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__gte": 0}), name=name)


def org_index(field: str, name: str) -> models.Index:
    return models.Index(fields=["organization", field], name=name)


class AustralianState(models.TextChoices):
    NSW = "NSW", "New South Wales"
    VIC = "VIC", "Victoria"
    QLD = "QLD", "Queensland"
    WA = "WA", "Western Australia"
    SA = "SA", "South Australia"
    TAS = "TAS", "Tasmania"
    ACT = "ACT", "Australian Capital Territory"
    NT = "NT", "Northern Territory"


class CustomerKind(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial"
    INDUSTRIAL = "industrial", "Industrial"
    AGRICULTURAL = "agricultural", "Agricultural"
    GOVERNMENT = "government", "Government"
    BUILDER = "builder", "Residential builder"


class ProductCategory(models.TextChoices):
    BATTERY = "battery", "Battery"
    INVERTER = "inverter", "Inverter"
    ACCESSORY = "accessory", "Accessory"


class Stage(models.TextChoices):
    LEAD = "lead", "Lead"
    QUALIFIED = "qualified", "Qualified"
    QUOTED = "quoted", "Quoted"
    NEGOTIATION = "negotiation", "Negotiation"
    WON = "won", "Won"
    LOST = "lost", "Lost"


OPEN_STAGES = [Stage.LEAD, Stage.QUALIFIED, Stage.QUOTED, Stage.NEGOTIATION]
CLOSED_STAGES = [Stage.WON, Stage.LOST]


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    CONFIRMED = "confirmed", "Confirmed"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    SITE_VISIT = "site_visit", "Site visit"
    NOTE = "note", "Note"


class JobStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class ClaimKind(models.TextChoices):
    DEFECT = "defect", "Defect"
    PERFORMANCE = "performance", "Performance"
    INSTALLATION = "installation", "Installation"
    OTHER = "other", "Other"


class ClaimStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RESOLVED = "resolved", "Resolved"


class OrgOwned(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True


class Customer(OrgOwned):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=CustomerKind.choices)
    state = models.CharField(max_length=3, choices=AustralianState.choices)
    phone = models.CharField(max_length=30, blank=True, default="", db_default="")
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            org_index("created_at", "customer_org_created"),
            org_index("archived_at", "customer_org_archived"),
        ]
        constraints = [
            choices_check("kind", CustomerKind, "customer_kind_valid"),
            choices_check("state", AustralianState, "customer_state_valid"),
            models.CheckConstraint(
                condition=Q(archived_at__isnull=True) | Q(archived_at__gte=F("created_at")),
                name="customer_archived_after_created",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(OrgOwned):
    sku = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=ProductCategory.choices)
    capacity_kwh = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    unit_price_cents = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="product_sku_unique"),
            choices_check("category", ProductCategory, "product_category_valid"),
            non_negative("unit_price_cents", "product_price_non_negative"),
            models.CheckConstraint(
                condition=Q(capacity_kwh__isnull=True) | Q(capacity_kwh__gte=0),
                name="product_capacity_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Opportunity(OrgOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="opportunities")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.LEAD)
    value_cents = models.BigIntegerField()
    probability = models.PositiveSmallIntegerField(default=10)
    quoted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "opportunities"
        indexes = [
            org_index("created_at", "opp_org_created"),
            org_index("closed_at", "opp_org_closed"),
            models.Index(
                fields=["organization", "stage", "closed_at"], name="opp_org_stage_closed"
            ),
        ]
        constraints = [
            choices_check("stage", Stage, "opportunity_stage_valid"),
            non_negative("value_cents", "opportunity_value_non_negative"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="opportunity_probability_0_100",
            ),
            # Tricky: state metrics rely on closed_at, so closed stages must carry it.
            models.CheckConstraint(
                condition=Q(stage__in=CLOSED_STAGES, closed_at__isnull=False)
                | Q(stage__in=OPEN_STAGES, closed_at__isnull=True),
                name="opportunity_closed_at_matches_stage",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("created_at")),
                name="opportunity_closed_after_created",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Order(OrgOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    number = models.CharField(max_length=30)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    ordered_at = models.DateTimeField()
    total_cents = models.BigIntegerField()

    class Meta:
        indexes = [
            org_index("ordered_at", "order_org_ordered"),
            models.Index(
                fields=["organization", "status", "ordered_at"], name="order_org_status_ordered"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="order_number_unique"),
            choices_check("status", OrderStatus, "order_status_valid"),
            non_negative("total_cents", "order_total_non_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderItem(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.BigIntegerField()
    kwh = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    objects = OrgQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "order"], name="orderitem_org_order")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderitem_quantity_positive"),
            non_negative("unit_price_cents", "orderitem_price_non_negative"),
            non_negative("kwh", "orderitem_kwh_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class Activity(OrgOwned):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    subject = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            org_index("occurred_at", "activity_org_occurred"),
            models.Index(
                fields=["organization", "kind", "occurred_at"], name="activity_org_kind_occ"
            ),
        ]
        constraints = [choices_check("kind", ActivityKind, "activity_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class InstallationJobQuerySet(OrgQuerySet):
    def open(self):
        """Jobs still to be done: scheduled or in progress."""
        return self.filter(status__in=InstallationJob.OPEN_STATUSES)


class InstallationJob(OrgOwned):
    # "An open job", the one definition: the field view, the my-jobs widget and the job
    # actions read it.
    OPEN_STATUSES = (JobStatus.SCHEDULED, JobStatus.IN_PROGRESS)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="jobs")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="jobs")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.SCHEDULED)
    scheduled_for = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    kwh = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    labor_hours = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    site_address = models.CharField(max_length=300, blank=True, default="", db_default="")
    notes = models.TextField(blank=True, default="", db_default="")

    objects = InstallationJobQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        indexes = [
            org_index("created_at", "job_org_created"),
            org_index("scheduled_for", "job_org_scheduled"),
            org_index("completed_at", "job_org_completed"),
            org_index("cancelled_at", "job_org_cancelled"),
            models.Index(
                fields=["organization", "technician", "scheduled_for"], name="job_org_tech_sched"
            ),
        ]
        constraints = [
            choices_check("status", JobStatus, "job_status_valid"),
            non_negative("kwh", "job_kwh_non_negative"),
            non_negative("labor_hours", "job_hours_non_negative"),
            models.CheckConstraint(
                condition=~Q(status=JobStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="job_completed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=JobStatus.CANCELLED) | Q(cancelled_at__isnull=False),
                name="job_cancelled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | Q(cancelled_at__isnull=True),
                name="job_not_both_completed_and_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class JobEventKind(models.TextChoices):
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"


class JobEvent(models.Model):
    """What a person did to a job, and when: the job page's history and its audit trail."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(InstallationJob, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=JobEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "job", "at"], name="jobevent_org_job_at")]
        constraints = [choices_check("kind", JobEventKind, "jobevent_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.job_id}"


class WarrantyClaim(OrgOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="claims")
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="claims"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ClaimKind.choices)
    status = models.CharField(max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.OPEN)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    cost_cents = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            org_index("opened_at", "claim_org_opened"),
            org_index("resolved_at", "claim_org_resolved"),
        ]
        constraints = [
            choices_check("kind", ClaimKind, "claim_kind_valid"),
            choices_check("status", ClaimStatus, "claim_status_valid"),
            non_negative("cost_cents", "claim_cost_non_negative"),
            models.CheckConstraint(
                condition=~Q(status__in=[ClaimStatus.RESOLVED, ClaimStatus.REJECTED])
                | Q(resolved_at__isnull=False),
                name="claim_closed_has_resolved_at",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("opened_at")),
                name="claim_resolved_after_opened",
            ),
        ]

    def __str__(self) -> str:
        return f"Claim {self.pk} ({self.get_kind_display()})"
