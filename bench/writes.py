"""A business day's writes for the benchmarks, through the ORM as the app makes them.

Half of each source's writes create a record now (the open tail); the other half move an
existing record on, as the day's work does: an order is fulfilled, an opportunity is won or
lost, a job is completed, a claim is resolved. Those also touch the older day the record
started on (its event rows carry the record's current stage or status), so they are the
back-dated writes a cache of history must survive.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from operations.models import (
    Activity,
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    WarrantyClaim,
)


class DayOfWrites:
    def __init__(self, org, seed: int = 11):
        self.org = org
        self.rnd = random.Random(seed)
        self.customers = list(
            Customer.objects.filter(organization=org).values_list("pk", flat=True)[:500]
        )
        self.n = 0

    def _pick(self, queryset):
        count = queryset.count()
        return queryset.order_by("pk")[self.rnd.randrange(count)] if count else None

    def write(self, source: str) -> str:
        """Make one realistic write to a source; returns what it did."""
        self.n += 1
        now = timezone.now()
        org, rnd = self.org, self.rnd
        customer_id = rnd.choice(self.customers)
        move_on = rnd.random() < 0.5
        recent = now - dt.timedelta(days=60)
        if source == "sales":
            order = move_on and self._pick(
                Order.objects.filter(organization=org, status="confirmed", ordered_at__gte=recent)
            )
            if order:
                order.status = "fulfilled"
                order.save()
                return "order fulfilled"
            Order.objects.create(
                organization=org,
                customer_id=customer_id,
                number=f"B{now:%y%m%d%H%M%S%f}-{self.n}",
                status="confirmed",
                ordered_at=now,
                total_cents=rnd.randint(500_000, 9_000_000),
            )
            return "order placed"
        if source == "pipeline":
            opp = move_on and self._pick(
                Opportunity.objects.filter(
                    organization=org, closed_at__isnull=True, created_at__gte=recent
                )
            )
            if opp:
                opp.stage = rnd.choice(["won", "lost"])
                opp.closed_at = now
                opp.save()
                return f"opportunity {opp.stage}"
            Opportunity.objects.create(
                organization=org,
                customer_id=customer_id,
                name="Bench lead",
                stage="lead",
                value_cents=rnd.randint(500_000, 9_000_000),
                probability=10,
                created_at=now,
            )
            return "opportunity opened"
        if source == "jobs":
            job = self._pick(
                InstallationJob.objects.open().filter(
                    organization=org,
                    created_at__gte=recent,
                )
            )
            if job and (move_on or not job.order_id):
                job.status, job.completed_at = "completed", now
                job.kwh, job.labor_hours = Decimal("13.50"), Decimal("6.00")
                job.save()
                return "job completed"
            if job:
                InstallationJob.objects.create(
                    organization=org,
                    order_id=job.order_id,
                    customer_id=job.customer_id,
                    scheduled_for=now + dt.timedelta(days=7),
                    created_at=now,
                )
                return "job scheduled"
            return "no job to write"
        if source == "warranty":
            claim = self._pick(
                WarrantyClaim.objects.filter(
                    organization=org, resolved_at__isnull=True, opened_at__gte=recent
                )
            )
            if claim and move_on:
                claim.status, claim.resolved_at = "resolved", now
                claim.save()
                return "claim resolved"
            if claim:
                WarrantyClaim.objects.create(
                    organization=org,
                    customer_id=claim.customer_id,
                    product_id=claim.product_id,
                    kind=claim.kind,
                    opened_at=now,
                )
                return "claim opened"
            return "no claim to write"
        if source == "customers":
            Customer.objects.create(
                organization=org, name=f"Bench customer {self.n}", kind="commercial", state="NSW"
            )
            return "customer added"
        Activity.objects.create(
            organization=org,
            kind=rnd.choice(["call", "email", "meeting"]),
            customer_id=customer_id,
            occurred_at=now,
        )
        return "activity logged"
