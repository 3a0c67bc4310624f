"""The demo's books: Xero records made from an organisation's orders, with a known set of
discrepancies, served by the fake Xero and synced through the real SDK (docs/xero.md, "Demo").

Most fulfilled orders get an invoice (ref the order's number, GST 10 %), paid on its due day
(7 to 30 days' terms) once that has passed. Then, picked deterministically: orders never invoiced, invoices with no order, a GST
error, an amount mismatch, a split invoice, an invoice found by customer and amount, an
over-invoice corrected by a credit note, and a voided duplicate. `plan.expected` lists the
exceptions matching must find, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection as db
from django.test.utils import override_settings

from operations.models import Customer, Order, OrderStatus
from xero.fake import FakeXero, contact, credit_note, invoice, payment
from xero.models import XeroConnection, XeroSyncRun
from xero.sync import sync_organization

NOT_INVOICED, NO_ORDER, GST_ERROR, AMOUNT_ERROR = 4, 3, 1, 1


@dataclass
class DemoBooks:
    invoices: list[dict] = field(default_factory=list)
    credit_notes: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    # (kind, order number or None, invoice number or None)
    expected: set[tuple[str, str | None, str | None]] = field(default_factory=set)


def _gst(cents: int) -> int:
    return (cents + 5) // 10


def plan_books(org, today: dt.date, seed: int = 23) -> DemoBooks:
    rnd = random.Random(seed)
    with db.cursor() as cursor:  # the orders the sales source counts (its one definition)
        cursor.execute(
            "SELECT record_id FROM metric_events_sales WHERE organization_id = %s", [org.pk]
        )
        counted = {row[0] for row in cursor.fetchall()}
    orders = [
        o
        for o in Order.objects.filter(organization=org, status=OrderStatus.FULFILLED)
        .select_related("customer")
        .order_by("ordered_at", "pk")
        if o.pk in counted and o.total_cents > 0
    ]
    contacts: dict[int, dict] = {}

    def who(customer: Customer) -> dict:
        if customer.pk not in contacts:
            contacts[customer.pk] = contact(customer.name)
        return contacts[customer.pk]

    books = DemoBooks()
    # The discrepancies fall in the last few months, where a newcomer looks first.
    recent = [i for i, o in enumerate(orders) if (today - o.ordered_at.date()).days <= 120]
    picks = rnd.sample(recent, NOT_INVOICED + GST_ERROR + AMOUNT_ERROR + 3)
    role = dict.fromkeys(picks[:NOT_INVOICED], "not_invoiced")
    for i, name in zip(
        picks[NOT_INVOICED:], ("gst", "amount", "split", "credited", "voided_twin"), strict=True
    ):
        role[i] = name
    # Tricky: the invoice found by customer and amount must have one candidate order: no
    # other unmatched order of its customer (a confirmed one, or a never-invoiced one) of a
    # similar amount near its date.
    open_orders = [
        o
        for o in Order.objects.filter(organization=org, pk__in=counted)
        .exclude(status=OrderStatus.FULFILLED)
        .only("customer_id", "ordered_at", "total_cents")
    ] + [orders[i] for i, r in role.items() if r == "not_invoiced"]
    for i in rnd.sample(range(len(orders)), len(orders)):
        if i in role:
            continue
        order = orders[i]
        if not any(
            o.customer_id == order.customer_id
            and abs((o.ordered_at - order.ordered_at).days) <= 60
            and abs(o.total_cents - order.total_cents) <= order.total_cents // 50 + 100
            for o in open_orders
        ):
            role[i] = "by_customer"
            break
    number = 0

    def add(order, ex, *, ref=None, tax=None, status=None, who_=None):
        nonlocal number
        number += 1
        day = min(today, (order.ordered_at + dt.timedelta(days=rnd.randint(1, 14))).date())
        # Paid on its due day (7 to 30 days' terms) once that day has passed, so cash comes in
        # every week as it does in a real business.
        due = day + dt.timedelta(days=rnd.randint(7, 30))
        paid = due < today
        doc = invoice(
            number=f"INV-{number:05d}", contact_json=who_ or who(order.customer), date=day,
            reference=order.number if ref is None else ref,
            lines=[(ex, _gst(ex) if tax is None else tax)],
            status=status or ("PAID" if paid else "AUTHORISED"),
        )  # fmt: skip
        books.invoices.append(doc)
        if doc["Status"] == "PAID":
            books.payments.append(
                payment(
                    invoice_json=doc,
                    date=due,
                    amount_cents=ex + (_gst(ex) if tax is None else tax),
                )  # fmt: skip
            )
        return doc

    for i, order in enumerate(orders):
        kind = role.get(i)
        if kind == "not_invoiced":
            books.expected.add(("not_invoiced", order.number, None))
        elif kind == "gst":
            doc = add(order, order.total_cents, tax=_gst(order.total_cents) - 500)
            books.expected.add(("tax_mismatch", None, doc["InvoiceNumber"]))
        elif kind == "amount":
            doc = add(order, order.total_cents - 25_000)
            books.expected.add(("amount_mismatch", order.number, doc["InvoiceNumber"]))
        elif kind == "split":
            first = order.total_cents * 6 // 10
            add(order, first, ref=f"{order.number} 1/2")
            add(order, order.total_cents - first, ref=f"{order.number} 2/2")
        elif kind == "by_customer":
            add(order, order.total_cents, ref="Deposit and balance")
        elif kind == "credited":
            over = add(order, order.total_cents + 50_000)
            books.credit_notes.append(
                credit_note(
                    number=f"CN-{number:05d}",
                    contact_json=who(order.customer),
                    date=min(today, order.ordered_at.date() + dt.timedelta(days=20)),
                    lines=[(50_000, 5_000)],
                    allocations=((over, 55_000),),
                )  # fmt: skip
            )
        elif kind == "voided_twin":
            add(order, order.total_cents)
            add(order, order.total_cents, status="VOIDED")
        else:
            add(order, order.total_cents)
    strangers = [contact(n) for n in ("Harbour Solar Pty Ltd", "Ridge Electrical", "Mint Homes")]
    for n, stranger in enumerate(strangers[:NO_ORDER]):
        order = orders[-1 - n]
        doc = add(order, 180_000 + 37_500 * n, ref=f"Service call {n + 1}", who_=stranger)
        books.expected.add(("no_order", None, doc["InvoiceNumber"]))
    return books


def seed_books(org, today: dt.date, acting_user=None) -> tuple[DemoBooks, XeroSyncRun]:
    """Serve the demo's books from a fake Xero on a free local port, connect the
    organisation to it and sync through the real SDK; no network beyond this machine."""
    books = plan_books(org, today)
    fake = FakeXero()
    fake.put("Invoices", *books.invoices)
    fake.put("CreditNotes", *books.credit_notes)
    fake.put("Payments", *books.payments)
    with (
        fake,
        override_settings(
            XERO_CLIENT_ID=fake.client_id,
            XERO_CLIENT_SECRET=fake.client_secret,
            XERO_API_URL=fake.api_url,
            XERO_IDENTITY_URL=fake.url,
            XERO_PAGE_SIZE=min(settings.XERO_PAGE_SIZE, 1000),
        ),
    ):
        XeroConnection.objects.update_or_create(
            organization=org,
            defaults={"tenant_name": "Fake Xero (demo data)", "connected_by": acting_user},
        )
        run = sync_organization(org.pk, full=True)
    return books, run
