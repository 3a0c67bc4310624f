"""Builders shared by the targets tests: a customer, orders, claims and closed quotes."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from operations.models import Customer, Opportunity, Order, Product, WarrantyClaim

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
_numbers = itertools.count(1)


def local(y, m, d, hh=0, mm=0, tz=SYDNEY) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def customer(org, at: dt.datetime | None = None) -> Customer:
    return Customer.objects.create(
        organization=org,
        name=f"Customer {next(_numbers)}",
        kind="commercial",
        state="NSW",
        created_at=at or local(2020, 1, 1),
    )


def order(org, at: dt.datetime, cents: int, *, status="confirmed", owner=None, buyer=None):
    buyer = buyer or customer(org)
    opportunity = None
    if owner is not None:
        opportunity = Opportunity.objects.create(
            organization=org,
            customer=buyer,
            owner=owner,
            name="Deal",
            stage="won",
            value_cents=cents,
            probability=100,
            created_at=at - dt.timedelta(days=1),
            closed_at=at - dt.timedelta(hours=1),
        )
    return Order.objects.create(
        organization=org,
        customer=buyer,
        opportunity=opportunity,
        number=f"SO-{next(_numbers)}",
        status=status,
        ordered_at=at,
        created_at=at,
        total_cents=cents,
    )


def closed_quote(org, at: dt.datetime, stage: str, *, owner=None, buyer=None):
    return Opportunity.objects.create(
        organization=org,
        customer=buyer or customer(org),
        owner=owner,
        name="Quote",
        stage=stage,
        value_cents=100_000,
        probability=100 if stage == "won" else 0,
        created_at=at - dt.timedelta(days=3),
        closed_at=at,
    )


def claim(org, opened: dt.datetime, *, resolved: dt.datetime | None = None):
    product = Product.objects.filter(organization=org).first() or Product.objects.create(
        organization=org,
        sku=f"BAT-{next(_numbers)}",
        name="Battery",
        category="battery",
        capacity_kwh=Decimal("10.00"),
        unit_price_cents=1_000_000,
    )
    return WarrantyClaim.objects.create(
        organization=org,
        customer=customer(org),
        product=product,
        kind="defect",
        status="resolved" if resolved else "open",
        opened_at=opened,
        created_at=opened,
        resolved_at=resolved,
        cost_cents=0,
    )
