"""Crafted histories for insights tests: every number is known by construction."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from accounts.models import Role
from operations.models import Customer, InstallationJob, Order
from tests.conftest import make_user

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


def _spread(org, first: dt.date, last: dt.date, n: int, cycle, cents: int) -> None:
    """n orders of `cents` over the weekdays of [first, last], one a day in turn."""
    days = list(weekdays(first, last))
    for i in range(n):
        orders_on(org, days[i % len(days)], [cents], cycle)


def qld_and_nsw_orders(org):
    """August and September 2025, every order $1,000.00:

    | customer state | August | September |
    |---|---|---|
    | QLD | 10 orders, $10,000 | 30 orders, $30,000 |
    | NSW | 30 orders, $30,000 | 10 orders, $10,000 |
    | all | 40 orders, $40,000 | 40 orders, $40,000 |

    So QLD's revenue is up 200 % to $30,000 (3,000,000 cents, from 1,000,000), and the
    organisation's has not moved at all.
    """
    qld = itertools.cycle(customers(org, 10, state="QLD", prefix="Queensland"))
    nsw = itertools.cycle(customers(org, 10, state="NSW", prefix="Sydney"))
    aug, sep = (
        (dt.date(2025, 8, 4), dt.date(2025, 8, 29)),
        (dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
    )
    _spread(org, *aug, 10, qld, 100_000)
    _spread(org, *sep, 30, qld, 100_000)
    _spread(org, *aug, 30, nsw, 100_000)
    _spread(org, *sep, 10, nsw, 100_000)
    return org


def technician_jobs(org):
    """Completed installation jobs, 10 kWh each, at 14:00 on weekdays:

    | technician | August | September |
    |---|---|---|
    | tech (ours) | 10 | 30 |
    | other tech | 10 | 10 |

    The technician's own jobs completed are up 200 % to 30 (from 10); the organisation's
    are up 100 % to 40 (from 20).
    """
    tech = make_user(org, Role.TECHNICIAN, "tech@renoz.test")
    other = make_user(org, Role.TECHNICIAN, "other@renoz.test")
    customer = customers(org, 1)[0]
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number="SO-JOBS",
        status="confirmed",
        ordered_at=dt.datetime(2025, 7, 1, 10, tzinfo=SYDNEY),
        created_at=dt.datetime(2025, 7, 1, 10, tzinfo=SYDNEY),
        total_cents=100,
    )
    made = []
    for who, month, n in ((tech, 8, 10), (tech, 9, 30), (other, 8, 10), (other, 9, 10)):
        days = list(
            weekdays(dt.date(2025, month, 4 if month == 8 else 1), dt.date(2025, month, 28))
        )
        for i in range(n):
            at = dt.datetime.combine(days[i % len(days)], dt.time(14), tzinfo=SYDNEY)
            made.append(
                InstallationJob(
                    organization=org,
                    order=order,
                    customer=customer,
                    technician=who,
                    status="completed",
                    scheduled_for=at,
                    created_at=at - dt.timedelta(days=1),
                    completed_at=at,
                    kwh=10,
                    labor_hours=2,
                )
            )
    InstallationJob.objects.bulk_create(made)
    return tech
