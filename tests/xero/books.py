"""A month of orders and the invoices Xero holds for them, with one of each discrepancy,
worked out by hand (tests/xero/test_matching.py and test_reconciliation.py read it).

All in March 2026, organisation in Australia/Sydney (UTC+11 then). Amounts ex GST.

| order | status | total | in Xero | expected |
|---|---|---|---|---|
| SO-000001 | fulfilled | 1,000.00 | INV-1 ref "SO-000001" 1,000.00 | reference match |
| SO-000002 | fulfilled | 2,000.00 | INV-2A 1,200.00 + INV-2B 800.00, both ref it | split, reference |
| SO-000003 + SO-000004 | fulfilled | 500.00 + 700.00 | INV-3 ref "SO-000003, SO-000004" 1,200.00 | consolidated |
| SO-000005 | fulfilled | 3,000.00 | INV-5, no ref, same customer, 3,010.00, 10 days later | customer_amount |
| SO-000006 | fulfilled | 800.00 | only INV-6 ref it, VOIDED | not_invoiced |
| SO-000007 | confirmed | 900.00 | nothing | nothing (not fulfilled yet) |
| SO-000009 | fulfilled | 1,500.00 | INV-9 ref it 1,400.00 | amount_mismatch (1,500 vs 1,400) |
| SO-000010 | fulfilled | 600.00 | INV-10 ref it, GST 55.00 not 60.00 | tax_mismatch |
| SO-000012 | fulfilled | 1,000.00 | INV-12 1,100.00 less CN-12 110.00 incl GST (100.00 ex) | reference, netted |
| SO-000013 | draft | 400.00 | nothing | nothing (not revenue) |
| — | | | INV-8, "Unknown Pty", 450.00 | no_order |

Orders revenue (confirmed + fulfilled): 1000+2000+500+700+3000+800+900+1500+600+1000 = 12,000.00
Invoiced (counted invoices' SubTotal less counted credit notes' SubTotal, by date):
1000+1200+800+1200+3010+1400+600+1100+450 = 10,760.00, less CN-12 100.00 = 10,660.00
Gap = 12,000.00 - 10,660.00 = 1,340.00. Cash collected: INV-1 paid 1,100.00 on 20 March.
Unbilled (fulfilled, not invoiced): SO-000006, 800.00. Matched orders: 1,2,3,4,5,9,10,12 = 8.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from operations.models import Customer, Order
from xero.fake import contact, credit_note, invoice, payment

SYDNEY = ZoneInfo("Australia/Sydney")
ORDERS_REVENUE = 12_000_00
INVOICED = 10_660_00
GAP = 1_340_00
COLLECTED = 1_100_00
UNBILLED = 800_00
MATCHED_ORDERS = 8


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=SYDNEY)


def seed_orders(org) -> dict[str, Order]:
    def customer(name):
        return Customer.objects.create(
            organization=org, name=name, kind="commercial", state="NSW", created_at=at(1, 8)
        )

    acme, volt = customer("Acme Storage"), customer("Volt Farms")
    plan = [
        (1, acme, "fulfilled", 1000_00, 2),
        (2, acme, "fulfilled", 2000_00, 3),
        (3, acme, "fulfilled", 500_00, 4),
        (4, acme, "fulfilled", 700_00, 4),
        (5, volt, "fulfilled", 3000_00, 5),
        (6, acme, "fulfilled", 800_00, 6),
        (7, acme, "confirmed", 900_00, 7),
        (9, acme, "fulfilled", 1500_00, 9),
        (10, acme, "fulfilled", 600_00, 10),
        (12, acme, "fulfilled", 1000_00, 12),
        (13, acme, "draft", 400_00, 13),
    ]
    return {
        f"SO-{n:06d}": Order.objects.create(
            organization=org,
            customer=cust,
            number=f"SO-{n:06d}",
            status=status,
            ordered_at=at(day),
            total_cents=cents,
            created_at=at(day),
        )  # fmt: skip
        for n, cust, status, cents, day in plan
    }


def seed_xero(fake) -> dict[str, dict]:
    acme, volt, unknown = contact("Acme Storage"), contact("Volt Farms"), contact("Unknown Pty")
    d = lambda day: dt.date(2026, 3, day)  # noqa: E731

    def inv(number, who, day, ex, tax=None, ref="", status="AUTHORISED"):
        return invoice(
            number=number, contact_json=who, date=d(day), reference=ref, status=status,
            lines=[(ex, ex // 10 if tax is None else tax)],
        )  # fmt: skip

    invoices = {
        "INV-1": inv("INV-1", acme, 3, 1000_00, ref="SO-000001"),
        "INV-2A": inv("INV-2A", acme, 4, 1200_00, ref="SO-000002 part 1"),
        "INV-2B": inv("INV-2B", acme, 5, 800_00, ref="SO-000002 part 2"),
        "INV-3": inv("INV-3", acme, 6, 1200_00, ref="SO-000003, SO-000004"),
        "INV-5": inv("INV-5", volt, 15, 3010_00),
        "INV-6": inv("INV-6", acme, 7, 800_00, ref="SO-000006", status="VOIDED"),
        "INV-8": inv("INV-8", unknown, 8, 450_00),
        "INV-9": inv("INV-9", acme, 10, 1400_00, ref="SO-000009"),
        "INV-10": inv("INV-10", acme, 11, 600_00, tax=55_00, ref="SO-000010"),
        "INV-12": inv("INV-12", acme, 13, 1100_00, ref="SO-000012"),
    }
    fake.put("Invoices", *invoices.values())
    fake.put(
        "CreditNotes",
        credit_note(
            number="CN-12",
            contact_json=acme,
            date=d(14),
            lines=[(100_00, 10_00)],
            allocations=((invoices["INV-12"], 110_00),),
        ),  # fmt: skip
    )
    fake.put("Payments", payment(invoice_json=invoices["INV-1"], date=d(20), amount_cents=1100_00))
    return invoices
