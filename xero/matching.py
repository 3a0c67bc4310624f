"""Match orders with invoices, and record what differs (docs/xero.md, "Matching").

Rules, in order; each match records the rule that made it:

1. `reference`: an order's `number` appears in the invoice's Reference or InvoiceNumber. An
   order named by several invoices is split; an invoice naming several orders is consolidated.
2. `customer_amount`: else, the same customer (the Xero contact mapped to it, or a customer of
   the same name, a mapping kept once matched), an ex-GST amount within
   `rules.amount_tolerance`, and an invoice dated within the window around the order.

Only invoices that count (`rules.invoice_counts`: sales invoices, AUTHORISED or PAID; never
VOIDED or DELETED) take part, each net of the ex-GST share of the credit notes allocated to it.
The orders are those the sales source counts (its event view, the one definition of revenue's
statuses). Matched orders and invoices fall into groups (an order, its invoices, their other
orders); a group whose totals differ is an amount mismatch. Exceptions: fulfilled orders with
no invoice (`not_invoiced`), counted invoices with no order (`no_order`), groups whose totals
differ (`amount_mismatch`) and invoices whose GST is not 10 % of their ex-GST amount
(`tax_mismatch`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction

from operations.models import Customer, OrderStatus
from xero import rules
from xero.models import (
    ExceptionKind,
    MatchRule,
    XeroContact,
    XeroCreditNote,
    XeroException,
    XeroInvoice,
    XeroMatch,
)

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


@dataclass
class _Order:
    id: int
    number: str
    customer_id: int
    status: str
    at: dt.datetime
    cents: int


@dataclass
class _Invoice:
    id: int
    number: str
    reference: str
    contact: str | None
    contact_name: str
    day: dt.date
    at: dt.datetime
    net_cents: int
    sub_total: int
    tax: int
    lines: int


def _counted_orders(org_id: int) -> list[_Order]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, o.number, o.customer_id, o.status, o.ordered_at, o.total_cents "
            "FROM operations_order o WHERE o.organization_id = %(org)s AND o.id IN "
            "(SELECT e.record_id FROM metric_events_sales e WHERE e.organization_id = %(org)s)",
            {"org": org_id},
        )
        return [_Order(*row) for row in cursor.fetchall()]


def _credits(org_id: int) -> dict[str, int]:
    """Ex-GST credit per invoice (Xero id): each allocation's share of its note's SubTotal."""
    out: dict[str, int] = defaultdict(int)
    notes = XeroCreditNote.objects.filter(organization_id=org_id, counts=True).values_list(
        "sub_total_cents", "total_cents", "allocations"
    )
    for sub_total, total, allocations in notes:
        for a in allocations:
            share = a["amount_cents"] * sub_total // total if total else 0
            out[a["invoice"]] += share
    return out


def _invoices(org_id: int) -> list[_Invoice]:
    credits = _credits(org_id)
    rows = XeroInvoice.objects.filter(organization_id=org_id, counts=True).values_list(
        "id", "xero_id", "number", "reference", "contact_xero_id", "contact_name", "date",
        "dated_at", "sub_total_cents", "total_tax_cents", "line_count",
    )  # fmt: skip
    return [
        _Invoice(
            pk,
            number,
            reference,
            str(contact) if contact else None,
            name,
            day,
            at,
            sub - credits.get(str(xid), 0),
            sub,
            tax,
            lines,
        )  # fmt: skip
        for pk, xid, number, reference, contact, name, day, at, sub, tax, lines in rows
    ]


def _contact_customers(org_id: int) -> dict[str, int]:
    mapped = XeroContact.objects.filter(organization_id=org_id, customer__isnull=False)
    return {str(x): c for x, c in mapped.values_list("xero_id", "customer_id")}


def match_organization(org_id: int) -> dict:
    """Re-match one organisation from scratch; counts, and the local days whose unbilled
    orders changed (`unbilled_days`)."""
    orders = _counted_orders(org_id)
    invoices = _invoices(org_id)
    by_number = {o.number.upper(): o for o in orders}
    by_id = {o.id: o for o in orders}
    matches: dict[tuple[int, int], str] = {}

    # 1. The order's number in the Reference or the InvoiceNumber.
    for inv in invoices:
        for token in _TOKEN.findall(f"{inv.reference} {inv.number}"):
            order = by_number.get(token.upper())
            if order is not None:
                matches[(order.id, inv.id)] = MatchRule.REFERENCE

    # The contact -> customer map: kept ones, then those a reference match shows.
    contact_customer = _contact_customers(org_id)
    invoice_by_id = {i.id: i for i in invoices}
    learned: dict[str, int] = {}
    for order_id, invoice_id in matches:
        contact = invoice_by_id[invoice_id].contact
        if contact and contact not in contact_customer:
            learned[contact] = by_id[order_id].customer_id
    contact_customer |= learned
    names = {
        name.casefold(): pk
        for pk, name in Customer.objects.filter(organization_id=org_id).values_list("id", "name")
    }

    # 2. Same customer, amount within tolerance, date in the window.
    matched_orders = {o for o, _ in matches}
    matched_invoices = {i for _, i in matches}
    open_by_customer: dict[int, list[_Order]] = defaultdict(list)
    for order in orders:
        if order.id not in matched_orders:
            open_by_customer[order.customer_id].append(order)
    for inv in sorted(invoices, key=lambda i: (i.day, i.id)):
        if inv.id in matched_invoices:
            continue
        customer = contact_customer.get(inv.contact or "") or names.get(inv.contact_name.casefold())
        if customer is None:
            continue
        best = None
        for order in open_by_customer.get(customer, ()):
            gap = (inv.at - order.at).days
            if not -rules.DATE_WINDOW_BEFORE_DAYS <= gap <= rules.DATE_WINDOW_DAYS:
                continue
            diff = abs(order.cents - inv.net_cents)
            if diff <= rules.amount_tolerance(order.cents):
                rank = (diff, abs(gap), order.id)
                if best is None or rank < best[0]:
                    best = (rank, order)
        if best is not None:
            order = best[1]
            matches[(order.id, inv.id)] = MatchRule.CUSTOMER_AMOUNT
            open_by_customer[customer].remove(order)
            if inv.contact and inv.contact not in contact_customer:
                learned[inv.contact] = customer
                contact_customer[inv.contact] = customer

    exceptions = _exceptions(orders, invoices, matches)
    return _store(org_id, orders, matches, exceptions, learned)


def _groups(matches) -> list[tuple[set[int], set[int]]]:
    """Connected orders and invoices (union-find over the matches)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for order_id, invoice_id in matches:
        parent[find(("o", order_id))] = find(("i", invoice_id))
    groups: dict = defaultdict(lambda: (set(), set()))
    for node in list(parent):
        kind, pk = node
        groups[find(node)][0 if kind == "o" else 1].add(pk)
    return list(groups.values())


def _exceptions(orders, invoices, matches) -> list[XeroException]:
    by_id = {o.id: o for o in orders}
    inv_by_id = {i.id: i for i in invoices}
    matched_orders = {o for o, _ in matches}
    matched_invoices = {i for _, i in matches}
    out = [
        XeroException(
            key=f"not_invoiced:order:{order.id}",
            kind=ExceptionKind.NOT_INVOICED,
            order_id=order.id,
            since=order.at,
            order_cents=order.cents,
        )
        for order in orders
        if order.id not in matched_orders and order.status == OrderStatus.FULFILLED
    ]
    for inv in invoices:
        if inv.id not in matched_invoices:
            out.append(
                XeroException(
                    key=f"no_order:invoice:{inv.id}",
                    kind=ExceptionKind.NO_ORDER,
                    invoice_id=inv.id,
                    since=inv.at,
                    invoice_cents=inv.net_cents,
                )  # fmt: skip
            )
        if not rules.gst_agrees(inv.sub_total, inv.tax, inv.lines):
            out.append(
                XeroException(
                    key=f"tax_mismatch:invoice:{inv.id}",
                    kind=ExceptionKind.TAX_MISMATCH,
                    invoice_id=inv.id,
                    since=inv.at,
                    invoice_cents=inv.net_cents,
                    tax_cents=inv.tax,
                    expected_tax_cents=rules.expected_gst(inv.sub_total),
                )  # fmt: skip
            )
    rules_of: dict[int, set[str]] = defaultdict(set)
    for (order_id, _), rule in matches.items():
        rules_of[order_id].add(rule)
    for order_ids, invoice_ids in _groups(matches):
        ordered = sum(by_id[o].cents for o in order_ids)
        invoiced = sum(inv_by_id[i].net_cents for i in invoice_ids)
        rule_made = set().union(*(rules_of[o] for o in order_ids))
        allowed = (
            rules.REFERENCE_TOLERANCE_CENTS
            if MatchRule.REFERENCE in rule_made
            else rules.amount_tolerance(ordered)
        )
        if abs(ordered - invoiced) > allowed:
            first = min(order_ids)
            out.append(
                XeroException(
                    key=f"amount_mismatch:order:{first}",
                    kind=ExceptionKind.AMOUNT_MISMATCH,
                    order_id=first,
                    invoice_id=min(invoice_ids),
                    since=min(by_id[o].at for o in order_ids),
                    order_cents=ordered,
                    invoice_cents=invoiced,
                )  # fmt: skip
            )
    return out


def _store(org_id, orders, matches, exceptions, learned) -> dict:
    by_id = {o.id: o for o in orders}
    with transaction.atomic():
        before = set(
            XeroException.objects.filter(
                organization_id=org_id, kind=ExceptionKind.NOT_INVOICED
            ).values_list("order_id", "since")
        )
        # Tricky: only the differences are written, so re-matching unchanged books (every
        # hourly sync) writes nothing but what moved.
        stored = {
            (o, i): (pk, rule)
            for pk, o, i, rule in XeroMatch.objects.filter(organization_id=org_id).values_list(
                "pk", "order_id", "invoice_id", "rule"
            )
        }
        stale = [pk for k, (pk, rule) in stored.items() if matches.get(k) != rule]
        if stale:
            XeroMatch.objects.filter(pk__in=stale).delete()
        XeroMatch.objects.bulk_create(
            [
                XeroMatch(organization_id=org_id, order_id=o, invoice_id=i, rule=rule)
                for (o, i), rule in matches.items()
                if stored.get((o, i), (None, None))[1] != rule
            ],
            batch_size=2000,
        )
        keys = {e.key for e in exceptions}
        old_keys = set(
            XeroException.objects.filter(organization_id=org_id).values_list("key", flat=True)
        )
        if old_keys - keys:
            XeroException.objects.filter(
                organization_id=org_id, key__in=list(old_keys - keys)
            ).delete()
        for e in exceptions:
            e.organization_id = org_id
        XeroException.objects.bulk_create(
            exceptions,
            update_conflicts=True,
            unique_fields=["organization", "key"],
            update_fields=[
                "kind",
                "order",
                "invoice",
                "since",
                "order_cents",
                "invoice_cents",
                "tax_cents",
                "expected_tax_cents",
            ],  # fmt: skip
            batch_size=2000,
        )
        for contact, customer in learned.items():
            XeroContact.objects.filter(
                organization_id=org_id, xero_id=contact, customer__isnull=True
            ).update(customer_id=customer)
    after = {(e.order_id, e.since) for e in exceptions if e.kind == ExceptionKind.NOT_INVOICED}
    changed = before ^ after
    kinds: dict[str, int] = defaultdict(int)
    for e in exceptions:
        kinds[e.kind] += 1
    return {
        "matched_orders": len({o for o, _ in matches}),
        "matches": len(matches),
        "exceptions": dict(kinds),
        "unbilled_days": {since for _, since in changed},  # instants; made days below
        "orders": len(by_id),
    }
