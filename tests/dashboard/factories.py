"""Small, explicit builders of operational rows for engine tests."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

from operations.models import (
    Activity,
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    OrderItem,
    Product,
    WarrantyClaim,
)
from xero.models import ExceptionKind, XeroException, XeroInvoice, XeroPayment

STAGE_PROB = {"lead": 10, "qualified": 25, "quoted": 50, "negotiation": 70, "won": 100, "lost": 0}


def build_history(
    org,
    *,
    seed: int = 1,
    days: int = 500,
    now: dt.datetime,
    n_orders=200,
    n_opps=200,
    n_jobs=80,
    n_claims=30,
    n_customers=60,
    n_activities=300,
    technician=None,
):
    """A small random history over `days` days before `now`, written without signals."""
    rnd = random.Random(seed)

    def ts():
        return now - dt.timedelta(seconds=rnd.randint(0, days * 86400))

    customers = []
    for i in range(n_customers):
        created = ts()
        archived = created + dt.timedelta(days=rnd.randint(1, 200)) if rnd.random() < 0.2 else None
        if archived and archived > now:
            archived = None
        customers.append(
            Customer(
                organization=org,
                name=f"Customer {i}",
                kind="commercial",
                state="NSW",
                created_at=created,
                archived_at=archived,
            )
        )
    Customer.objects.bulk_create(customers)
    battery = Product.objects.create(
        organization=org,
        sku=f"BAT-{seed}",
        name="Battery 10",
        category="battery",
        capacity_kwh=Decimal("10.00"),
        unit_price_cents=1_200_000,
    )
    opps = []
    for i in range(n_opps):
        created = ts()
        stage = rnd.choice(list(STAGE_PROB))
        closed = None
        if stage in ("won", "lost"):
            closed = min(now, created + dt.timedelta(hours=rnd.randint(0, 24 * 90)))
        opps.append(
            Opportunity(
                organization=org,
                customer=rnd.choice(customers),
                name=f"Opp {i}",
                stage=stage,
                value_cents=rnd.randint(1, 500) * 10_000,
                probability=STAGE_PROB[stage],
                created_at=created,
                closed_at=closed,
            )
        )
    Opportunity.objects.bulk_create(opps)
    orders, items = [], []
    for i in range(n_orders):
        at = ts()
        qty = rnd.randint(1, 3)
        orders.append(
            Order(
                organization=org,
                customer=rnd.choice(customers),
                number=f"SO-{seed}-{i}",
                status=rnd.choice(["draft", "confirmed", "fulfilled", "fulfilled", "cancelled"]),
                ordered_at=at,
                created_at=at,
                total_cents=qty * 1_200_000,
            )
        )
    Order.objects.bulk_create(orders)
    for order in orders:
        qty = order.total_cents // 1_200_000
        items.append(
            OrderItem(
                organization=org,
                order=order,
                product=battery,
                quantity=qty,
                unit_price_cents=1_200_000,
                kwh=Decimal(10 * qty),
            )
        )
    OrderItem.objects.bulk_create(items)
    jobs = []
    for _ in range(n_jobs):
        order = rnd.choice(orders)
        created = ts()
        status = rnd.choice(["scheduled", "in_progress", "completed", "completed", "cancelled"])
        done = min(now, created + dt.timedelta(hours=rnd.randint(1, 24 * 30)))
        jobs.append(
            InstallationJob(
                organization=org,
                order=order,
                customer=order.customer,
                technician=technician,
                status=status,
                scheduled_for=created,
                created_at=created,
                completed_at=done if status == "completed" else None,
                cancelled_at=done if status == "cancelled" else None,
                kwh=Decimal(rnd.randint(5, 60)),
                labor_hours=Decimal("6.50"),
            )
        )
    InstallationJob.objects.bulk_create(jobs)
    claims = []
    for _ in range(n_claims):
        opened = ts()
        status = rnd.choice(["open", "in_review", "approved", "rejected", "resolved"])
        resolved = (
            min(now, opened + dt.timedelta(days=rnd.randint(0, 40)))
            if status in ("rejected", "resolved")
            else None
        )
        claims.append(
            WarrantyClaim(
                organization=org,
                customer=rnd.choice(customers),
                product=battery,
                kind=rnd.choice(["defect", "performance", "installation", "other"]),
                status=status,
                opened_at=opened,
                created_at=opened,
                resolved_at=resolved,
                cost_cents=rnd.randint(0, 90_000),
            )
        )
    WarrantyClaim.objects.bulk_create(claims)
    Activity.objects.bulk_create(
        Activity(
            organization=org,
            kind=rnd.choice(["call", "email", "meeting", "site_visit", "note"]),
            occurred_at=(at := ts()),
            created_at=at,
            subject="Follow-up",
        )
        for _ in range(n_activities)
    )
    invoices = build_books(org, orders, seed=seed, now=now)
    return {
        "customers": customers,
        "opps": opps,
        "orders": orders,
        "jobs": jobs,
        "claims": claims,
        "battery": battery,
        "invoices": invoices,
    }


def build_books(org, orders, *, seed: int, now: dt.datetime) -> list:
    """The ledger's rows for a history: an invoice (some paid, a few voided) for most
    fulfilled orders, and an unbilled exception for the rest, as a sync and matching would
    leave them. Its own random stream, so the rows above stay what each seed made them."""
    rnd = random.Random(f"books-{seed}")
    invoices, payments, unbilled = [], [], []
    for order in orders:
        if order.status != "fulfilled":
            continue
        if rnd.random() < 0.2:
            unbilled.append(
                XeroException(
                    organization=org,
                    key=f"not_invoiced:order:{order.pk}",
                    kind=ExceptionKind.NOT_INVOICED,
                    order=order,
                    since=order.ordered_at,
                    order_cents=order.total_cents,
                )  # fmt: skip
            )
            continue
        dated = min(now, order.ordered_at + dt.timedelta(days=rnd.randint(0, 20)))
        status = rnd.choice(["AUTHORISED", "PAID", "PAID", "VOIDED"])
        sub = order.total_cents
        invoice = XeroInvoice(
            organization=org, xero_id=uuid.UUID(int=rnd.getrandbits(128)),
            number=f"INV-{order.number}", reference=order.number, type="ACCREC", status=status,
            date=dated.date(), dated_at=dated, sub_total_cents=sub, total_tax_cents=sub // 10,
            total_cents=sub + sub // 10, updated_utc=dated, counts=status != "VOIDED", raw={},
        )  # fmt: skip
        invoices.append(invoice)
        if status == "PAID":
            paid = min(now, dated + dt.timedelta(days=rnd.randint(0, 30)))
            payments.append(
                XeroPayment(
                    organization=org,
                    xero_id=uuid.UUID(int=rnd.getrandbits(128)),
                    invoice_xero_id=invoice.xero_id,
                    status="AUTHORISED",
                    payment_type="ACCRECPAYMENT",
                    date=paid.date(),
                    dated_at=paid,
                    amount_cents=invoice.total_cents,
                    updated_utc=paid,
                    counts=True,
                    raw={},
                )  # fmt: skip
            )
    XeroInvoice.objects.bulk_create(invoices)
    XeroPayment.objects.bulk_create(payments)
    XeroException.objects.bulk_create(unbilled)
    return invoices
