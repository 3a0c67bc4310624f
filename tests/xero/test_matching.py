"""Matching over the hand-worked month of tests/xero/books.py: every seeded discrepancy shows
up as its exception, nothing else does, and each match says which rule made it."""

from __future__ import annotations

import pytest

from tests.xero.books import seed_orders, seed_xero
from xero.models import XeroContact, XeroException, XeroInvoice, XeroMatch
from xero.sync import sync_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(org, connection, fake):
    orders = seed_orders(org)
    seed_xero(fake)
    sync_organization(org.pk)
    return orders


def _matches(org):
    return sorted(
        (m.order.number, m.invoice.number, m.rule)
        for m in XeroMatch.objects.filter(organization=org).select_related("order", "invoice")
    )


def test_each_match_records_its_rule(org, books):
    assert _matches(org) == [
        ("SO-000001", "INV-1", "reference"),
        ("SO-000002", "INV-2A", "reference"),  # split
        ("SO-000002", "INV-2B", "reference"),
        ("SO-000003", "INV-3", "reference"),  # consolidated
        ("SO-000004", "INV-3", "reference"),
        ("SO-000005", "INV-5", "customer_amount"),  # 3,010 vs 3,000: within $15 (0.5 %)
        ("SO-000009", "INV-9", "reference"),
        ("SO-000010", "INV-10", "reference"),
        ("SO-000012", "INV-12", "reference"),
    ]


def test_every_discrepancy_is_its_exception_and_nothing_else(org, books):
    got = sorted(
        (
            e.kind,
            e.order.number if e.order else None,
            e.invoice.number if e.invoice else None,
            e.order_cents,
            e.invoice_cents,
        )  # fmt: skip
        for e in XeroException.objects.filter(organization=org).select_related("order", "invoice")
    )
    assert got == [
        ("amount_mismatch", "SO-000009", "INV-9", 1500_00, 1400_00),
        ("no_order", None, "INV-8", 0, 450_00),
        ("not_invoiced", "SO-000006", None, 800_00, 0),  # its only invoice is VOIDED
        ("tax_mismatch", None, "INV-10", 0, 600_00),
    ]
    tax = XeroException.objects.get(organization=org, kind="tax_mismatch")
    assert (tax.tax_cents, tax.expected_tax_cents) == (55_00, 60_00)


def test_a_matched_contact_keeps_its_customer(org, books):
    volt = XeroContact.objects.get(organization=org, name="Volt Farms")
    assert volt.customer == books["SO-000005"].customer
    acme = XeroContact.objects.get(organization=org, name="Acme Storage")
    assert acme.customer == books["SO-000001"].customer


def test_rematching_keeps_exception_keys_and_drops_what_was_fixed(org, books, fake):
    keys = set(XeroException.objects.filter(organization=org).values_list("key", flat=True))
    inv9 = XeroInvoice.objects.get(organization=org, number="INV-9").raw
    fixed = {**inv9, "SubTotal": 1500.0, "TotalTax": 150.0, "Total": 1650.0}
    fake.put("Invoices", fixed)
    sync_organization(org.pk)
    after = set(XeroException.objects.filter(organization=org).values_list("key", flat=True))
    assert after == keys - {f"amount_mismatch:order:{books['SO-000009'].pk}"}
