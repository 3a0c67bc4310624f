"""Annotations: a moment or a span marked on the organisation's charts (docs/annotations.md).

An annotation is scoped to the whole organisation, to one metric (a key of
metrics.definitions), or to one value of a dashboard dimension (a metrics.filters filter, e.g.
`state=QLD`). Its source says who added it: a person, an alert's state change, a target edit
or the system.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Organization
from accounts.tenancy import OrgQuerySet

MAX_TITLE = 120
MAX_NOTE = 2000
MAX_TAGS = 8
MAX_TAG = 30


class Source(models.TextChoices):
    MANUAL = "manual", "Added by a person"
    ALERT = "alert", "Alert"
    TARGET = "target", "Target change"
    SYSTEM = "system", "System"


class AnnotationQuerySet(OrgQuerySet):
    def overlapping(self, start, end):
        """Annotations touching [start, end): a moment inside it, or a span crossing it (a
        span that starts before the window still touches it)."""
        return self.filter(starts_at__lt=end).filter(
            Q(ends_at__isnull=True, starts_at__gte=start) | Q(ends_at__gte=start)
        )


class Annotation(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty for a moment")
    metric = models.CharField(max_length=40, blank=True, default="")
    dimension = models.CharField(max_length=20, blank=True, default="")  # a filter's param
    dimension_value = models.CharField(max_length=40, blank=True, default="")
    title = models.CharField(max_length=MAX_TITLE)
    note = models.TextField(blank=True, default="", max_length=MAX_NOTE)
    tags = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["organization", "starts_at"], name="annotation_org_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=F("starts_at")),
                name="annotation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(dimension="", dimension_value="")
                | (~Q(dimension="") & ~Q(dimension_value="")),
                name="annotation_dimension_pair",
            ),
            models.CheckConstraint(
                condition=Q(source__in=Source.values), name="annotation_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title
