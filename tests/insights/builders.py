"""Crafted histories for insights tests: every number is known by construction."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from operations.models import Customer, Order

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
# "Now" for every test: noon on Wednesday 15 Oct 2025, Sydney. The ranges tested are whole
# past months, so nothing depends on the clock.
NOW = dt.datetime(2025, 10, 15, 12, 0, tzinfo=SYDNEY)
_numbers = itertools.count(1)


def customers(org, n: int, *, state: str = "NSW", prefix: str = "Customer") -> list[Customer]:
    made = [
        Customer(
            organization=org,
            name=f"{prefix} {i}",
            kind="commercial",
            state=state,
            created_at=dt.datetime(2024, 1, 1, tzinfo=SYDNEY),
        )
        for i in range(n)
    ]
    return Customer.objects.bulk_create(made)


def orders_on(org, day: dt.date, amounts_cents: list[int], customer_cycle) -> list[Order]:
    """Confirmed orders at 10:00 local on `day`, one per amount, customers taken in turn."""
    at = dt.datetime.combine(day, dt.time(10, 0), tzinfo=SYDNEY)
    made = [
        Order(
            organization=org,
            customer=next(customer_cycle),
            number=f"SO-{next(_numbers)}",
            status="confirmed",
            ordered_at=at,
            created_at=at,
            total_cents=amount,
        )
        for amount in amounts_cents
    ]
    return Order.objects.bulk_create(made)


def weekdays(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)
