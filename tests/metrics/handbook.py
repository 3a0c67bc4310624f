"""A small, deliberate history for one Sydney organisation, and every metric worked out by hand.

Every expected number below is a literal, with the arithmetic beside it. None is computed by
the code under test. Row labels (O01, P06, J09, …) name the rows in the tables that follow;
all times are Sydney wall-clock times (AEST +10 until 02:00 on Sun 4 Oct 2026, AEDT +11 after;
AEDT until 03:00 on Sun 5 Apr 2026, which is then 02:00 AEST again).

Instants used throughout:
- October 2026 (from=2026-10-01, to=2026-10-31): [1 Oct 00:00 AEST, 1 Nov 00:00 AEDT);
  its state metrics are read at T = 1 Nov 2026 00:00 AEDT (= 31 Oct 13:00 UTC).
- Previous period of October (31 days just before): 31 Aug – 30 Sep 2026; state at
  T' = 1 Oct 2026 00:00 AEST.
- Previous year of October: 1 – 31 Oct 2025; state at T'' = 1 Nov 2025 00:00 AEDT.
- 4 Oct 2026 is a 23-hour day; 5 Apr 2026 is a 25-hour day (02:30 happens twice).

Edge rows on purpose: rows exactly at local midnight on each boundary (they count in the range
that starts there), rows at 23:59:59 just before, rows exactly at T (not in the range; for
state metrics a row closed exactly at T is still open at T), rows in another organisation,
draft and cancelled orders, and rows dated after "now" when the clock is frozen mid-day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import Organization, Role, User
from operations.models import (
    Activity,
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    Product,
    WarrantyClaim,
)

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
PASSWORD = "correct-horse-battery"  # noqa: S105 - test-only


def local(y, mo, d, h=0, mi=0, s=0, *, fold=0) -> dt.datetime:
    """A Sydney wall-clock instant; fold=1 is the second 02:xx of the 25-hour day."""
    return dt.datetime(y, mo, d, h, mi, s, fold=fold, tzinfo=SYDNEY)


# The clock for tests that read finished ranges: after every row above, so nothing is "to date".
AFTER_EVERYTHING = local(2026, 11, 20, 9, 0)
# The clock for the mid-day tests: Thursday 15 Oct 2026, 13:30 AEDT (02:30 UTC).
MIDDAY = local(2026, 10, 15, 13, 30)

# --- Users ---------------------------------------------------------------------------------

BOSS, AVA, BEN, TIA, TOM = (
    "boss@renoz.test",
    "ava@renoz.test",
    "ben@renoz.test",
    "tia@renoz.test",
    "tom@renoz.test",
)
USERS = {
    BOSS: (Role.ADMIN, "Bo Boss"),
    AVA: (Role.SALES, "Ava Sales"),  # sales rep 1
    BEN: (Role.SALES, "Ben Sales"),  # sales rep 2
    TIA: (Role.TECHNICIAN, "Tia Tech"),  # technician 1
    TOM: (Role.TECHNICIAN, "Tom Tech"),  # technician 2
}
OUTSIDER = "outsider@elsewhere.test"

# --- Rows ----------------------------------------------------------------------------------

# label: (name, kind, state, created_at, archived_at)
CUSTOMERS = {
    "K01": ("Acme Batteries", "commercial", "NSW", local(2025, 5, 1, 9), None),
    "K02": ("Bega Farms", "agricultural", "NSW", local(2026, 10, 1), None),  # at R start
    "K03": ("Canberra Council", "government", "ACT", local(2026, 9, 30, 23, 59, 59), None),
    "K04": ("Darwin Builders", "builder", "NT", local(2026, 10, 4, 1, 30), None),  # AEST
    "K05": (
        "Eyre Industrial",
        "industrial",
        "SA",
        local(2026, 10, 4, 3, 30),  # AEDT, same 23-hour day
        local(2026, 10, 20, 12),
    ),
    "K06": ("Fremantle Cold", "commercial", "WA", local(2026, 6, 1, 9), local(2026, 11, 1)),  # at T
    "K07": ("Geelong Smelters", "industrial", "VIC", local(2026, 11, 1), None),  # created at T
    "K08": (
        "Hobart Hotels",
        "commercial",
        "TAS",
        local(2025, 10, 15, 9),
        local(2026, 10, 31, 23, 59, 59),  # archived one second before T
    ),
    "K09": ("Ipswich Homes", "builder", "QLD", local(2026, 8, 31), None),  # at previous start
    "K10": ("Jindabyne Lodge", "commercial", "NSW", local(2026, 4, 5), local(2026, 5, 1, 9)),
    "K11": ("Katoomba Dairy", "agricultural", "NSW", local(2026, 10, 15, 13, 31), None),
    "K12": ("Lismore Co-op", "agricultural", "NSW", local(2026, 10, 15, 8), None),
}

# label: (owner, customer, stage, value_cents, probability, created_at, closed_at)
OPPORTUNITIES = {
    "P01": (AVA, "K01", "lead", 1_000_000, 10, local(2026, 9, 10, 10), None),
    "P02": (BEN, "K04", "qualified", 2_000_000, 25, local(2026, 10, 4, 3, 15), None),
    "P03": (AVA, "K01", "quoted", 3_333_333, 33, local(2026, 8, 1, 10), None),
    "P04": (BEN, "K02", "negotiation", 4_000_000, 70, local(2026, 10, 31, 23, 59, 59), None),
    "P05": (AVA, "K07", "negotiation", 50_000_000, 90, local(2026, 11, 1), None),  # created at T
    "P06": (AVA, "K01", "won", 6_000_000, 100, local(2026, 9, 1, 10), local(2026, 10, 1)),
    "P07": (
        BEN,
        "K04",
        "won",
        2_345_678,
        100,
        local(2026, 9, 15, 10),
        local(2026, 10, 4, 1, 30),  # AEST, 23-hour day
    ),
    "P08": (BEN, "K02", "won", 7_000_000, 100, local(2026, 10, 10, 10), local(2026, 11, 1)),  # at T
    "P09": (AVA, "K01", "lost", 900_000, 0, local(2026, 7, 1, 10), local(2026, 10, 20, 12)),
    "P10": (
        BEN,
        "K02",
        "lost",
        1_100_000,
        0,
        local(2026, 10, 2, 9),
        local(2026, 10, 31, 23, 59, 59),
    ),
    "P11": (
        BEN,
        "K03",
        "lost",
        800_000,
        0,
        local(2026, 9, 1, 10),
        local(2026, 9, 30, 23, 59, 59),
    ),
    "P12": (AVA, "K09", "won", 1_500_000, 100, local(2026, 8, 20, 10), local(2026, 8, 31)),
    "P13": (BEN, "K08", "won", 10_000_000, 100, local(2025, 9, 1, 10), local(2025, 10, 15, 10)),
    "P14": (AVA, "K08", "lost", 2_000_000, 0, local(2025, 9, 1, 10), local(2025, 10, 16, 10)),
    "P17": (AVA, "K02", "won", 1_234_567, 100, local(2026, 10, 5, 10), local(2026, 10, 15, 10)),
    "P18": (BEN, "K01", "lead", 500_000, 10, local(2025, 6, 1, 10), None),  # open throughout
    "P20": (
        AVA,
        "K10",
        "won",
        3_000_000,
        100,
        local(2026, 3, 1, 10),
        local(2026, 4, 5, 2, 15, fold=1),  # the second 02:15 (AEST)
    ),
    "P21": (
        BEN,
        "K10",
        "lost",
        1_000_000,
        0,
        local(2026, 3, 1, 10),
        local(2026, 4, 5, 2, 15),  # the first 02:15 (AEDT)
    ),
}

# label: (customer, opportunity, status, ordered_at, total_cents)
ORDERS = {
    "O01": ("K01", "P06", "confirmed", local(2026, 10, 1), 1_000_000),  # exactly at R start
    "O02": ("K03", None, "confirmed", local(2026, 9, 30, 23, 59, 59), 5_000_000),
    "O03": ("K04", "P07", "fulfilled", local(2026, 10, 4, 1, 59), 2_345_678),  # AEST
    "O04": ("K05", "P06", "confirmed", local(2026, 10, 4, 3, 0), 1_200_001),  # AEDT
    "O05": ("K01", None, "draft", local(2026, 10, 15, 10), 9_999_999),
    "O06": ("K02", None, "cancelled", local(2026, 10, 20, 10), 7_777_777),
    "O07": ("K02", "P17", "fulfilled", local(2026, 10, 31, 23, 59, 59), 654_323),
    "O08": ("K01", None, "confirmed", local(2026, 11, 1), 3_000_000),  # exactly at T
    "O09": ("K01", None, "fulfilled", local(2025, 10, 10, 10), 4_000_000),
    "O10": ("K08", "P13", "confirmed", local(2025, 10, 31, 23), 500_000),
    "O11": ("K09", "P12", "confirmed", local(2026, 8, 31), 250_000),  # previous period start
    "O12": ("K01", None, "confirmed", local(2026, 8, 30, 23, 59, 59), 111),
    "O13": ("K01", None, "confirmed", local(2026, 10, 15, 13, 29, 59), 10_000),
    "O14": ("K01", None, "confirmed", local(2026, 10, 15, 13, 30), 19_997),  # at MIDDAY
    "O15": ("K01", None, "confirmed", local(2026, 9, 15, 13, 29, 59), 70_000),
    "O16": ("K01", None, "confirmed", local(2026, 9, 15, 13, 30), 90_000),
    "O20": ("K10", "P20", "confirmed", local(2026, 4, 5, 2, 30), 100_000),  # first 02:30, AEDT
    "O21": ("K10", None, "confirmed", local(2026, 4, 5, 2, 30, fold=1), 200_000),  # second, AEST
    "O22": ("K10", None, "fulfilled", local(2026, 4, 5, 23, 30), 300_000),
    "O23": ("K10", None, "confirmed", local(2026, 4, 5, 0, 30), 400_000),  # 4 Apr 13:30 UTC
    "O24": ("K10", None, "confirmed", local(2026, 4, 6), 800_000),
    "O25": ("K10", None, "confirmed", local(2026, 4, 4, 23, 59, 59), 1_600_000),
}

# label: (technician, status, created_at, completed_at, cancelled_at, kwh, labor_hours)
JOBS = {
    "J01": (TIA, "completed", local(2026, 9, 20, 9), local(2026, 10, 1), None, "13.50", "6.25"),
    "J02": (
        TOM,
        "completed",
        local(2026, 9, 25, 9),
        local(2026, 9, 30, 23, 59, 59),
        None,
        "20.00",
        "8.00",
    ),
    "J03": (
        TOM,
        "completed",
        local(2026, 10, 1, 9),
        local(2026, 10, 4, 1, 45),  # AEST
        None,
        "10.05",
        "3.50",
    ),
    "J04": (
        TIA,
        "completed",
        local(2026, 10, 2, 9),
        local(2026, 10, 4, 3, 5),  # AEDT
        None,
        "7.45",
        "2.25",
    ),
    "J05": (TOM, "cancelled", local(2026, 10, 3, 9), None, local(2026, 10, 10, 9), "30.00", "0"),
    "J06": (TIA, "in_progress", local(2026, 10, 12, 9), None, None, "15.00", "0"),
    "J07": (TOM, "scheduled", local(2026, 10, 31, 23, 59, 59), None, None, "5.00", "0"),
    "J08": (TIA, "scheduled", local(2026, 11, 1), None, None, "5.00", "0"),  # created at T
    "J09": (TIA, "completed", local(2026, 10, 20, 9), local(2026, 11, 1), None, "11.11", "1.11"),
    "J10": (
        TOM,
        "completed",
        local(2026, 10, 28, 9),
        local(2026, 10, 31, 23, 59, 59),
        None,
        "0.40",
        "0.75",
    ),
    "J12": (TIA, "completed", local(2025, 10, 1, 9), local(2025, 10, 5, 12), None, "5.55", "1.50"),
    "J13": (TIA, "completed", local(2026, 8, 25, 9), local(2026, 8, 31), None, "9.99", "4.00"),
    "J14": (TOM, "in_progress", local(2025, 6, 1, 9), None, None, "1.00", "0"),  # never ends
    "J15": (TIA, "completed", local(2026, 10, 14, 9), local(2026, 10, 15, 9), None, "4.20", "1.00"),
    "J16": (
        TOM,
        "completed",
        local(2026, 10, 14, 9),
        local(2026, 10, 15, 14),  # after MIDDAY
        None,
        "8.00",
        "2.00",
    ),
    "J20": (
        TOM,
        "completed",
        local(2026, 4, 1, 9),
        local(2026, 4, 5, 2, 30, fold=1),
        None,
        "12.34",
        "2.50",
    ),
}

# label: (kind, status, opened_at, resolved_at)
CLAIMS = {
    "C01": ("defect", "open", local(2026, 10, 1), None),
    "C02": ("performance", "resolved", local(2026, 9, 30, 23, 59, 59), local(2026, 10, 5, 10)),
    "C03": ("installation", "in_review", local(2026, 10, 4, 1, 15), None),  # AEST
    "C04": ("other", "rejected", local(2026, 10, 4, 22), local(2026, 10, 31, 23, 59, 59)),
    "C05": ("defect", "resolved", local(2026, 10, 10, 10), local(2026, 11, 1)),  # resolved at T
    "C06": ("performance", "approved", local(2026, 10, 20, 10), None),
    "C07": ("defect", "open", local(2026, 11, 1), None),  # opened at T
    "C08": ("defect", "resolved", local(2025, 10, 20, 10), local(2025, 12, 1, 10)),
    "C09": ("installation", "open", local(2026, 8, 31), None),
    "C10": ("defect", "open", local(2026, 10, 15, 15), None),  # after MIDDAY
    "C20": ("defect", "resolved", local(2026, 4, 5, 23, 59, 59), local(2026, 4, 10, 10)),
}

# label: (user or None, kind, occurred_at)
ACTIVITIES = {
    "A01": (AVA, "call", local(2026, 10, 1)),
    "A02": (AVA, "email", local(2026, 9, 30, 23, 59, 59)),
    "A03": (BEN, "meeting", local(2026, 10, 4, 1)),  # AEST: 3 Oct 15:00 UTC
    "A04": (TIA, "site_visit", local(2026, 10, 4, 3)),  # AEDT: 3 Oct 16:00 UTC
    "A05": (BEN, "note", local(2026, 10, 4, 23, 59, 59)),
    "A06": (BEN, "call", local(2026, 10, 5)),  # AEDT: 4 Oct 13:00 UTC
    "A07": (AVA, "email", local(2026, 10, 31, 23, 59, 59)),
    "A08": (AVA, "call", local(2026, 11, 1)),  # at T
    "A10": (BEN, "call", local(2025, 10, 4, 10)),
    "A11": (TOM, "call", local(2026, 8, 31)),
    "A12": (None, "note", local(2026, 10, 15, 10)),  # nobody's
    "A13": (BEN, "call", local(2026, 10, 15, 18)),  # after MIDDAY
    "A14": (AVA, "call", local(2026, 9, 15, 13, 29, 59)),
    "A15": (AVA, "call", local(2026, 9, 15, 13, 30)),
    "A20": (AVA, "call", local(2026, 4, 5, 2, 30)),  # first 02:30
    "A21": (BEN, "call", local(2026, 4, 5, 2, 30, fold=1)),  # second 02:30
    "A22": (AVA, "call", local(2026, 4, 6)),
}

# The outsider organisation (Perth): one of everything inside October, none of which may count.
OUTSIDER_ORDER_CENTS = (123_456_789, 555)


@dataclass
class Handbook:
    org: Organization
    other_org: Organization
    users: dict[str, User] = field(default_factory=dict)
    rows: dict[str, object] = field(default_factory=dict)


def build(org: Organization, other_org: Organization) -> Handbook:
    """Write every row above for `org` (Australia/Sydney) and a few for `other_org`."""
    assert org.timezone == "Australia/Sydney"
    book = Handbook(org, other_org)
    for email, (role, name) in USERS.items():
        book.users[email] = User.objects.create_user(
            email=email, password=PASSWORD, organization=org, role=role, full_name=name
        )
    outsider = User.objects.create_user(
        email=OUTSIDER, password=PASSWORD, organization=other_org, role=Role.ADMIN
    )
    book.users[OUTSIDER] = outsider
    rows = book.rows
    for label, (name, kind, state, created, archived) in CUSTOMERS.items():
        rows[label] = Customer.objects.create(
            organization=org,
            name=name,
            kind=kind,
            state=state,
            created_at=created,
            archived_at=archived,
        )
    battery = Product.objects.create(
        organization=org,
        sku="B10",
        name="Battery 10 kWh",
        category="battery",
        capacity_kwh=Decimal("10.00"),
        unit_price_cents=1_000_000,
    )
    for label, (owner, cust, stage, value, prob, created, closed) in OPPORTUNITIES.items():
        rows[label] = Opportunity.objects.create(
            organization=org,
            customer=rows[cust],
            owner=book.users[owner],
            name=f"{label} {stage}",
            stage=stage,
            value_cents=value,
            probability=prob,
            created_at=created,
            closed_at=closed,
        )
    for label, (cust, opp, status, at, cents) in ORDERS.items():
        rows[label] = Order.objects.create(
            organization=org,
            customer=rows[cust],
            opportunity=rows[opp] if opp else None,
            number=label,
            status=status,
            ordered_at=at,
            created_at=at,
            total_cents=cents,
        )
    for label, (tech, status, created, completed, cancelled, kwh, hours) in JOBS.items():
        rows[label] = InstallationJob.objects.create(
            organization=org,
            order=rows["O01"],
            customer=rows["K01"],
            technician=book.users[tech],
            status=status,
            scheduled_for=created,
            started_at=created if status in ("in_progress", "completed") else None,
            created_at=created,
            completed_at=completed,
            cancelled_at=cancelled,
            kwh=Decimal(kwh),
            labor_hours=Decimal(hours),
        )
    for label, (kind, status, opened, resolved) in CLAIMS.items():
        rows[label] = WarrantyClaim.objects.create(
            organization=org,
            customer=rows["K01"],
            product=battery,
            kind=kind,
            status=status,
            opened_at=opened,
            created_at=opened,
            resolved_at=resolved,
            cost_cents=12_345,
        )
    for label, (email, kind, at) in ACTIVITIES.items():
        rows[label] = Activity.objects.create(
            organization=org,
            user=book.users[email] if email else None,
            kind=kind,
            subject=label,
            occurred_at=at,
            created_at=at,
        )
    _build_outsider(other_org, outsider)
    return book


def _build_outsider(other_org: Organization, outsider: User) -> None:
    """Another organisation's October: none of it may reach Renoz's numbers."""
    at = local(2026, 10, 10, 10)
    dst = local(2026, 10, 4, 10)
    cust = Customer.objects.create(
        organization=other_org, name="Perth Outsider", kind="commercial", state="WA", created_at=at
    )
    product = Product.objects.create(
        organization=other_org, sku="X1", name="X", category="battery", unit_price_cents=1
    )
    opp = Opportunity.objects.create(
        organization=other_org,
        customer=cust,
        owner=outsider,
        name="X won",
        stage="won",
        value_cents=99_000_000,
        probability=100,
        created_at=local(2026, 10, 1, 10),
        closed_at=at,
    )
    Opportunity.objects.create(
        organization=other_org,
        customer=cust,
        name="X open",
        stage="quoted",
        value_cents=88_000_000,
        probability=50,
        created_at=at,
    )
    orders = [
        Order.objects.create(
            organization=other_org,
            customer=cust,
            opportunity=opp,
            number=f"X-{i}",
            status="confirmed",
            ordered_at=when,
            created_at=when,
            total_cents=cents,
        )
        for i, (when, cents) in enumerate(zip((at, dst), OUTSIDER_ORDER_CENTS, strict=True))
    ]
    InstallationJob.objects.create(
        organization=other_org,
        order=orders[0],
        customer=cust,
        technician=outsider,
        status="completed",
        scheduled_for=at,
        created_at=at,
        completed_at=dst + dt.timedelta(days=6),
        kwh=Decimal("99.00"),
        labor_hours=Decimal("9.00"),
    )
    InstallationJob.objects.create(
        organization=other_org,
        order=orders[0],
        customer=cust,
        status="scheduled",
        scheduled_for=at,
        created_at=at,
    )
    WarrantyClaim.objects.create(
        organization=other_org,
        customer=cust,
        product=product,
        kind="defect",
        opened_at=dst,
        created_at=dst,
    )
    Activity.objects.create(
        organization=other_org, user=outsider, kind="call", occurred_at=dst, created_at=dst
    )


# === Expected values =========================================================================
#
# Metric values exactly as the JSON API returns them: cents and counts as ints, kWh and hours as
# Decimals with two places (the API gives floats; tests compare Decimal(str(value))), ratios as
# the API's 4-place float, None where nothing closed.

ALL_METRICS = [
    "revenue",
    "orders",
    "average_order_value",
    "kwh_deployed",
    "jobs_completed",
    "labor_hours",
    "quotes_won",
    "quotes_lost",
    "quote_win_rate",
    "new_customers",
    "warranty_claims",
    "activities",
    "pipeline_value",
    "weighted_pipeline",
    "active_installations",
    "open_warranty_claims",
    "customer_count",
]

# --- October 2026: from=2026-10-01 to=2026-10-31, state at T = 1 Nov 00:00 AEDT -------------
OCTOBER = {
    # O01 1_000_000 (00:00 1 Oct) + O03 2_345_678 + O04 1_200_001 (both 4 Oct, either side of
    # the clock change) + O07 654_323 (31 Oct 23:59:59) + O13 10_000 + O14 19_997 = 5_229_999.
    # Not: O02 (30 Sep 23:59:59), O08 (at T), O05 draft, O06 cancelled, the outsider's orders.
    "revenue": 5_229_999,
    # O01, O03, O04, O07, O13, O14
    "orders": 6,
    # 5_229_999 / 6 = 871_666.5 -> 871_667 (half up; banker's rounding would give 871_666)
    "average_order_value": 871_667,
    # completed_at in range: J01 13.50 (00:00 1 Oct) + J03 10.05 + J04 7.45 (4 Oct) + J10 0.40
    # (31 Oct 23:59:59) + J15 4.20 + J16 8.00 = 43.60. Not: J09 (completed at T), J02
    # (30 Sep 23:59:59), J05 cancelled, the outsider's 99.00.
    "kwh_deployed": Decimal("43.60"),
    # J01, J03, J04, J10, J15, J16
    "jobs_completed": 6,
    # 6.25 + 3.50 + 2.25 + 0.75 + 1.00 + 2.00 = 15.75
    "labor_hours": Decimal("15.75"),
    # closed won in range: P06 (00:00 1 Oct), P07 (4 Oct 01:30 AEST), P17 (15 Oct); P08 closed at T
    "quotes_won": 3,
    # closed lost in range: P09 (20 Oct), P10 (31 Oct 23:59:59)
    "quotes_lost": 2,
    # 3 / (3 + 2) = 0.6
    "quote_win_rate": 0.6,
    # created in range: K02 (00:00 1 Oct), K04, K05 (4 Oct), K12, K11 (15 Oct); K07 at T, K03 before
    "new_customers": 5,
    # opened in range: C01 (00:00 1 Oct), C03, C04 (4 Oct), C05, C06, C10; C07 at T, C02 before
    "warranty_claims": 6,
    # A01 (00:00 1 Oct), A03, A04, A05 (4 Oct), A06 (00:00 5 Oct), A07 (31 Oct 23:59:59),
    # A12 (no user), A13; A08 at T, A02 before, the outsider's call on 4 Oct
    "activities": 8,
    # open at T: P01 1_000_000 + P02 2_000_000 + P03 3_333_333 + P04 4_000_000 (created
    # 23:59:59) + P08 7_000_000 (closed exactly at T, so still open at T) + P18 500_000
    # = 17_833_333. Not: P05 (created at T), P06/P07/P09/P10/P17 (closed before T).
    "pipeline_value": 17_833_333,
    # value × probability: P01 1_000_000×10 = 10_000_000; P02 2_000_000×25 = 50_000_000;
    # P03 3_333_333×33 = 109_999_989; P04 4_000_000×70 = 280_000_000; P08 7_000_000×100 =
    # 700_000_000; P18 500_000×10 = 5_000_000; Σ = 1_154_999_989 / 100 = 11_549_999.89 -> 11_550_000
    "weighted_pipeline": 11_550_000,
    # created before T and neither completed nor cancelled before T: J06 (in progress),
    # J07 (created 23:59:59), J09 (completed exactly at T), J14 (in progress since 2025).
    # Not: J08 (created at T), J05 (cancelled 10 Oct), the completed ones.
    "active_installations": 4,
    # opened before T, not resolved before T: C01, C03, C05 (resolved exactly at T), C06
    # (approved, never resolved), C09, C10. Not: C02 (5 Oct), C04 (rejected 31 Oct 23:59:59),
    # C07 (opened at T), C08, C20.
    "open_warranty_claims": 6,
    # created before T, not archived before T: K01, K02, K03, K04, K06 (archived exactly at T),
    # K09, K11, K12. Not: K05 (archived 20 Oct), K07 (created at T), K08 (archived 23:59:59),
    # K10 (archived May).
    "customer_count": 8,
}

# --- Previous period of October: 31 Aug – 30 Sep 2026, state at T' = 1 Oct 00:00 AEST ----------
# {metric: (previous, change_pct)}; change_pct = (value - previous) / |previous| × 100, 2 places.
OCTOBER_VS_PREVIOUS_PERIOD = {
    # O11 250_000 (00:00 31 Aug) + O15 70_000 + O16 90_000 (15 Sep) + O02 5_000_000
    # (30 Sep 23:59:59) = 5_410_000; not O12 (30 Aug 23:59:59).
    # (5_229_999 - 5_410_000) / 5_410_000 = -180_001 / 5_410_000 = -3.3272 %
    "revenue": (5_410_000, -3.33),
    # 4 orders; (6 - 4) / 4 = +50 %
    "orders": (4, 50.0),
    # 5_410_000 / 4 = 1_352_500; (871_667 - 1_352_500) / 1_352_500 = -480_833 / 1_352_500 = -35.5514 %
    "average_order_value": (1_352_500, -35.55),
    # J13 9.99 (00:00 31 Aug) + J02 20.00 (30 Sep 23:59:59) = 29.99; 13.61 / 29.99 = +45.3818 %
    "kwh_deployed": (Decimal("29.99"), 45.38),
    # J13, J02; (6 - 2) / 2 = +200 %
    "jobs_completed": (2, 200.0),
    # 4.00 + 8.00 = 12.00; 3.75 / 12 = +31.25 %
    "labor_hours": (Decimal("12.00"), 31.25),
    # P12 (00:00 31 Aug); (3 - 1) / 1 = +200 %
    "quotes_won": (1, 200.0),
    # P11 (30 Sep 23:59:59); (2 - 1) / 1 = +100 %
    "quotes_lost": (1, 100.0),
    # 1 / 2 = 0.5; (0.6 - 0.5) / 0.5 = +20 %
    "quote_win_rate": (0.5, 20.0),
    # K09 (00:00 31 Aug), K03 (30 Sep 23:59:59); (5 - 2) / 2 = +150 %
    "new_customers": (2, 150.0),
    # C09 (00:00 31 Aug), C02 (30 Sep 23:59:59); (6 - 2) / 2 = +200 %
    "warranty_claims": (2, 200.0),
    # A11 (00:00 31 Aug), A14, A15 (15 Sep), A02 (30 Sep 23:59:59); (8 - 4) / 4 = +100 %
    "activities": (4, 100.0),
    # open at T': P01 1_000_000 + P03 3_333_333 + P06 6_000_000 (closed exactly at T') +
    # P07 2_345_678 + P09 900_000 + P18 500_000 = 14_079_011. Not: P11 (closed 23:59:59),
    # P12, P02/P04/P08/P10/P17 (created later).
    # (17_833_333 - 14_079_011) / 14_079_011 = 3_754_322 / 14_079_011 = +26.6661 %
    "pipeline_value": (14_079_011, 26.67),
    # 10_000_000 + 109_999_989 + 6_000_000×100 + 2_345_678×100 + 900_000×0 + 5_000_000
    # = 959_567_789 / 100 = 9_595_677.89 -> 9_595_678;
    # (11_550_000 - 9_595_678) / 9_595_678 = 1_954_322 / 9_595_678 = +20.3667 %
    "weighted_pipeline": (9_595_678, 20.37),
    # J01 (completed exactly at T'), J14; (4 - 2) / 2 = +100 %
    "active_installations": (2, 100.0),
    # C02 (resolved 5 Oct), C09; C01 opened exactly at T' is not yet open; (6 - 2) / 2 = +200 %
    "open_warranty_claims": (2, 200.0),
    # K01, K03, K06, K08, K09 (K02 created exactly at T'; K10 archived May); (8 - 5) / 5 = +60 %
    "customer_count": (5, 60.0),
}

# --- Previous year of October: 1 – 31 Oct 2025, state at T'' = 1 Nov 2025 00:00 AEDT -----------
OCTOBER_VS_PREVIOUS_YEAR = {
    # O09 4_000_000 + O10 500_000 = 4_500_000; 729_999 / 4_500_000 = +16.2222 %
    "revenue": (4_500_000, 16.22),
    # (6 - 2) / 2 = +200 %
    "orders": (2, 200.0),
    # 4_500_000 / 2 = 2_250_000; -1_378_333 / 2_250_000 = -61.2592 %
    "average_order_value": (2_250_000, -61.26),
    # J12 5.55; 38.05 / 5.55 = +685.5856 %
    "kwh_deployed": (Decimal("5.55"), 685.59),
    # (6 - 1) / 1 = +500 %
    "jobs_completed": (1, 500.0),
    # J12 1.50; 14.25 / 1.50 = +950 %
    "labor_hours": (Decimal("1.50"), 950.0),
    # P13
    "quotes_won": (1, 200.0),
    # P14
    "quotes_lost": (1, 100.0),
    # 1 / 2
    "quote_win_rate": (0.5, 20.0),
    # K08 (15 Oct 2025); (5 - 1) / 1 = +400 %
    "new_customers": (1, 400.0),
    # C08; (6 - 1) / 1 = +500 %
    "warranty_claims": (1, 500.0),
    # A10; (8 - 1) / 1 = +700 %
    "activities": (1, 700.0),
    # only P18 (created Jun 2025) is open at T''; P13, P14 closed in Oct 2025.
    # 17_333_333 / 500_000 = +3466.6666 %
    "pipeline_value": (500_000, 3466.67),
    # 500_000 × 10 / 100 = 50_000; 11_500_000 / 50_000 = +23000 %
    "weighted_pipeline": (50_000, 23000.0),
    # J14 only (J12 completed 5 Oct 2025); (4 - 1) / 1 = +300 %
    "active_installations": (1, 300.0),
    # C08 (opened 20 Oct 2025, resolved Dec 2025); (6 - 1) / 1 = +500 %
    "open_warranty_claims": (1, 500.0),
    # K01, K08; (8 - 2) / 2 = +300 %
    "customer_count": (2, 300.0),
}

# --- Sun 4 Oct 2026, the 23-hour day: [4 Oct 00:00 AEST, 5 Oct 00:00 AEDT) ----------------------
# The clocks jump from 02:00 AEST to 03:00 AEDT. In UTC the day is 3 Oct 14:00 – 4 Oct 13:00.
DST_OCTOBER_DAY = {
    # O03 2_345_678 (01:59 AEST) + O04 1_200_001 (03:00 AEDT) = 3_545_679
    "revenue": 3_545_679,
    "orders": 2,
    # 3_545_679 / 2 = 1_772_839.5 -> 1_772_840
    "average_order_value": 1_772_840,
    # J03 10.05 (01:45 AEST) + J04 7.45 (03:05 AEDT) = 17.50
    "kwh_deployed": Decimal("17.50"),
    "jobs_completed": 2,
    # 3.50 + 2.25 = 5.75
    "labor_hours": Decimal("5.75"),
    # P07 (01:30 AEST)
    "quotes_won": 1,
    "quotes_lost": 0,
    # 1 / (1 + 0)
    "quote_win_rate": 1.0,
    # K04 (01:30 AEST), K05 (03:30 AEDT)
    "new_customers": 2,
    # C03 (01:15 AEST), C04 (22:00 AEDT)
    "warranty_claims": 2,
    # A03 (01:00 AEST), A04 (03:00 AEDT), A05 (23:59:59); not A06 (00:00 5 Oct), not the outsider's
    "activities": 3,
    # open at 5 Oct 00:00: P01 1_000_000 + P02 2_000_000 (created 03:15) + P03 3_333_333 +
    # P09 900_000 + P10 1_100_000 + P18 500_000 = 8_833_333 (P07 closed 01:30)
    "pipeline_value": 8_833_333,
    # 10_000_000 + 50_000_000 + 109_999_989 + 0 + 0 + 5_000_000 = 174_999_989 / 100 -> 1_750_000
    "weighted_pipeline": 1_750_000,
    # J05 (cancelled later, on 10 Oct), J14; J03/J04 completed that day
    "active_installations": 2,
    # C01, C02 (resolved 5 Oct 10:00), C03, C04 (resolved 31 Oct), C09
    "open_warranty_claims": 5,
    # K01, K02, K03, K04, K05 (archived later), K06, K08, K09
    "customer_count": 8,
}

# --- Sun 5 Apr 2026, the 25-hour day: [5 Apr 00:00 AEDT, 6 Apr 00:00 AEST) ---------------------
# 03:00 AEDT becomes 02:00 AEST, so 02:00–02:59 happens twice. In UTC: 4 Apr 13:00 – 5 Apr 14:00.
DST_APRIL_DAY = {
    # O23 400_000 (00:30 AEDT = 4 Apr 13:30 UTC) + O20 100_000 (first 02:30) + O21 200_000
    # (second 02:30) + O22 300_000 (23:30 AEST) = 1_000_000; not O25 (4 Apr 23:59:59), O24 (6 Apr)
    "revenue": 1_000_000,
    "orders": 4,
    # 1_000_000 / 4
    "average_order_value": 250_000,
    # J20 (second 02:30)
    "kwh_deployed": Decimal("12.34"),
    "jobs_completed": 1,
    "labor_hours": Decimal("2.50"),
    # P20 (second 02:15)
    "quotes_won": 1,
    # P21 (first 02:15)
    "quotes_lost": 1,
    # 1 / 2
    "quote_win_rate": 0.5,
    # K10 (00:00 AEDT)
    "new_customers": 1,
    # C20 (23:59:59)
    "warranty_claims": 1,
    # A20 (first 02:30), A21 (second 02:30); not A22 (00:00 6 Apr)
    "activities": 2,
}
# Previous period of 5 Apr = 4 Apr: O25 1_600_000 alone; (1_000_000 - 1_600_000) / 1_600_000 = -37.5 %
DST_APRIL_VS_PREVIOUS_DAY = {"revenue": (1_600_000, -37.5), "orders": (1, 300.0)}

# --- Frozen at MIDDAY (Thu 15 Oct 2026 13:30 AEDT), range=this_month ---------------------------
# The range is 1 – 31 Oct, to date: [1 Oct 00:00, 15 Oct 13:30). State metrics are read at 13:30.
MONTH_TO_DATE = {
    # O01 1_000_000 + O03 2_345_678 + O04 1_200_001 + O13 10_000 (13:29:59) = 4_555_679;
    # not O14 (13:30:00 exactly), O05 (draft), nor anything later in the month
    "revenue": 4_555_679,
    "orders": 4,
    # 4_555_679 / 4 = 1_138_919.75 -> 1_138_920
    "average_order_value": 1_138_920,
    # J01 13.50 + J03 10.05 + J04 7.45 + J15 4.20 (09:00) = 35.20; not J16 (14:00)
    "kwh_deployed": Decimal("35.20"),
    "jobs_completed": 4,
    # 6.25 + 3.50 + 2.25 + 1.00 = 13.00
    "labor_hours": Decimal("13.00"),
    # P06, P07, P17 (10:00 today)
    "quotes_won": 3,
    # P09 and P10 close later in the month
    "quotes_lost": 0,
    "quote_win_rate": 1.0,
    # K02, K04, K05, K12 (08:00); not K11 (13:31)
    "new_customers": 4,
    # C01, C03, C04, C05; not C10 (15:00), C06 (20 Oct)
    "warranty_claims": 4,
    # A01, A03, A04, A05, A06, A12 (10:00); not A13 (18:00)
    "activities": 6,
    # open at 13:30: P01 1_000_000 + P02 2_000_000 + P03 3_333_333 + P08 7_000_000 (closes
    # 1 Nov) + P09 900_000 (closes 20 Oct) + P10 1_100_000 (closes 31 Oct) + P18 500_000
    # = 15_833_333. Not P04 (created 31 Oct: future), P17 (closed 10:00 today), P06, P07.
    "pipeline_value": 15_833_333,
    # 10_000_000 + 50_000_000 + 109_999_989 + 700_000_000 + 0 + 0 + 5_000_000 = 874_999_989
    # / 100 = 8_749_999.89 -> 8_750_000
    "weighted_pipeline": 8_750_000,
    # J06 (in progress), J14, J16 (completes 14:00: still active at 13:30). Not J07/J09/J10
    # (created later in the month), J15 (completed 09:00), J05 (cancelled 10 Oct).
    "active_installations": 3,
    # C01, C03, C04 (rejected only on 31 Oct), C05 (resolved 1 Nov), C09. Not C02 (5 Oct),
    # C06 (20 Oct, future), C10 (15:00, future).
    "open_warranty_claims": 5,
    # K01, K02, K03, K04, K05 (archived 20 Oct: future), K06, K08 (archived 31 Oct), K09, K12.
    # Not K11 (13:31), K07, K10.
    "customer_count": 9,
}
# Previous period of a running month: the same elapsed wall-clock span of September, i.e.
# [1 Sep 00:00, 15 Sep 13:30) AEST (14 days 13 h 30 min of wall-clock time in both).
MONTH_TO_DATE_VS_PREVIOUS = {
    # O15 70_000 (13:29:59); not O16 (13:30:00). (4_555_679 - 70_000) / 70_000 = +6408.1129 %
    "revenue": (70_000, 6408.11),
    # (4 - 1) / 1 = +300 %
    "orders": (1, 300.0),
    # A14 (13:29:59); not A15 (13:30:00). (6 - 1) / 1 = +500 %
    "activities": (1, 500.0),
    # open at 15 Sep 13:30: P01 1_000_000 + P03 3_333_333 + P06 6_000_000 + P07 2_345_678
    # (created 10:00 that day) + P09 900_000 + P11 800_000 + P18 500_000 = 14_879_011.
    # (15_833_333 - 14_879_011) / 14_879_011 = 954_322 / 14_879_011 = +6.4138 %
    "pipeline_value": (14_879_011, 6.41),
    # K01, K06, K08, K09 (K03 arrives 30 Sep); (9 - 4) / 4 = +125 %
    "customer_count": (4, 125.0),
}

# --- Frozen at MIDDAY, range=today: [15 Oct 00:00, 13:30) --------------------------------------
TODAY_TO_DATE = {
    "revenue": 10_000,  # O13 (13:29:59); not O14 (13:30), O05 (draft)
    "orders": 1,
    "average_order_value": 10_000,
    "kwh_deployed": Decimal("4.20"),  # J15 (09:00); not J16 (14:00)
    "jobs_completed": 1,
    "labor_hours": Decimal("1.00"),
    "quotes_won": 1,  # P17 (10:00)
    "quotes_lost": 0,
    "quote_win_rate": 1.0,
    "new_customers": 1,  # K12 (08:00); not K11 (13:31)
    "warranty_claims": 0,  # C10 opens at 15:00
    "activities": 1,  # A12 (10:00); not A13 (18:00)
    # State metrics: the same instant (13:30) as month to date.
    "pipeline_value": 15_833_333,
    "weighted_pipeline": 8_750_000,
    "active_installations": 3,
    "open_warranty_claims": 5,
    "customer_count": 9,
}

# --- Time series ---------------------------------------------------------------------------
# activities by Sydney day, 1 – 7 Oct. In UTC, A03 and A04 fall on 3 Oct and A06 on 4 Oct.
ACTIVITIES_BY_DAY_EARLY_OCTOBER = [
    ("2026-10-01", 1),  # A01 (00:00)
    ("2026-10-02", 0),
    ("2026-10-03", 0),
    ("2026-10-04", 3),  # A03, A04, A05
    ("2026-10-05", 1),  # A06 (00:00)
    ("2026-10-06", 0),
    ("2026-10-07", 0),
]
# revenue by Sydney day, 4 – 6 Apr. O23, O20, O21 are on 4 Apr in UTC.
REVENUE_BY_DAY_EARLY_APRIL = [
    ("2026-04-04", 1_600_000),  # O25 (23:59:59)
    ("2026-04-05", 1_000_000),  # O23 + O20 + O21 + O22 = 400_000 + 100_000 + 200_000 + 300_000
    ("2026-04-06", 800_000),  # O24 (00:00)
]
# revenue by week, October (weeks start Monday; the first and last are clipped to the range)
REVENUE_BY_WEEK_OCTOBER = [
    ("2026-10-01", 4_545_679),  # Thu 1 – Sun 4: O01 + O03 + O04 = 1_000_000 + 2_345_678 + 1_200_001
    ("2026-10-05", 0),  # O05 is a draft
    ("2026-10-12", 29_997),  # O13 + O14 = 10_000 + 19_997
    ("2026-10-19", 0),  # O06 is cancelled
    ("2026-10-26", 654_323),  # O07 (31 Oct 23:59:59)
]  # Σ = 5_229_999 = OCTOBER["revenue"]
# customer_count at the end of each day (the next local midnight), 29 Sep – 2 Oct
CUSTOMERS_AT_END_OF_DAY = [
    ("2026-09-29", 4),  # K01, K06, K08, K09
    ("2026-09-30", 5),  # + K03 (23:59:59)
    ("2026-10-01", 6),  # + K02 (00:00 1 Oct)
    ("2026-10-02", 6),
]

# --- Drill-down row counts for October (the CSV export has one line per record) ---------------
OCTOBER_DRILL_ROWS = {
    "orders": 6,
    "jobs_completed": 6,
    "quotes_won": 3,
    "quotes_lost": 2,
    "quote_win_rate": 5,  # the closed ones: 3 won + 2 lost
    "new_customers": 5,
    "warranty_claims": 6,
    "activities": 8,
    "pipeline_value": 6,  # P01, P02, P03, P04, P08, P18
    "active_installations": 4,
    "open_warranty_claims": 6,
    "customer_count": 8,
}

# --- Nightly per-user statistics (UserStatisticsDaily) ------------------------------------------
# {date: {email: {column: value}}}; every column not listed is zero. Revenue and orders go to the
# owner of the order's opportunity (orders without one go to nobody).
STAT_COLUMNS = (
    "revenue_cents",
    "orders",
    "quotes_won",
    "quotes_lost",
    "activities",
    "jobs_completed",
    "kwh_installed",
    "labor_hours",
)
USER_STATISTICS = {
    # Wed 30 Sep: A02 Ava; P11 lost Ben; J02 Tom 20.00 kWh 8.00 h; O02 has no opportunity.
    dt.date(2026, 9, 30): {
        AVA: {"activities": 1},
        BEN: {"quotes_lost": 1},
        TOM: {
            "jobs_completed": 1,
            "kwh_installed": Decimal("20.00"),
            "labor_hours": Decimal("8.00"),
        },
    },
    # Thu 1 Oct (every row at 00:00:00): O01 via P06 Ava; P06 won Ava; A01 Ava; J01 Tia.
    dt.date(2026, 10, 1): {
        AVA: {"revenue_cents": 1_000_000, "orders": 1, "quotes_won": 1, "activities": 1},
        TIA: {
            "jobs_completed": 1,
            "kwh_installed": Decimal("13.50"),
            "labor_hours": Decimal("6.25"),
        },
    },
    # Sun 4 Oct (23 hours): O04 via P06 Ava; O03 via P07 Ben; P07 won Ben; A03 + A05 Ben, A04 Tia;
    # J03 Tom 10.05 / 3.50, J04 Tia 7.45 / 2.25.
    dt.date(2026, 10, 4): {
        AVA: {"revenue_cents": 1_200_001, "orders": 1},
        BEN: {"revenue_cents": 2_345_678, "orders": 1, "quotes_won": 1, "activities": 2},
        TIA: {
            "activities": 1,
            "jobs_completed": 1,
            "kwh_installed": Decimal("7.45"),
            "labor_hours": Decimal("2.25"),
        },
        TOM: {
            "jobs_completed": 1,
            "kwh_installed": Decimal("10.05"),
            "labor_hours": Decimal("3.50"),
        },
    },
    # Sun 5 Apr (25 hours): O20 via P20 Ava; P20 won Ava, P21 lost Ben; A20 Ava, A21 Ben; J20 Tom.
    dt.date(2026, 4, 5): {
        AVA: {"revenue_cents": 100_000, "orders": 1, "quotes_won": 1, "activities": 1},
        BEN: {"quotes_lost": 1, "activities": 1},
        TOM: {
            "jobs_completed": 1,
            "kwh_installed": Decimal("12.34"),
            "labor_hours": Decimal("2.50"),
        },
    },
}

# --- Per-owner slices ----------------------------------------------------------------------------
EXPECTED_OWNER_SLICES = {
    # For October 2026 (from=2026-10-01 to=2026-10-31, Australia/Sydney): range metrics over
    # [1 Oct 00:00 AEST, 1 Nov 00:00 AEDT); state metrics at T = 1 Nov 2026 00:00 AEDT.
    # Owner: revenue/orders via the order's opportunity owner (orders without an opportunity,
    # O13 and O14, belong to nobody); quotes and pipeline via the opportunity owner; job metrics
    # via the technician; activities via the activity's user (A12 has none).
    # Per metric the slices add up to the organisation's figure minus the unowned rows.
    AVA: {
        # O01 1_000_000 (P06) + O04 1_200_001 (P06) + O07 654_323 (P17) = 2_854_324
        "revenue": 2_854_324,
        "orders": 3,
        "quotes_won": 2,  # P06, P17
        "quotes_lost": 1,  # P09
        "quote_win_rate": 0.6667,  # 2 / 3, to 4 places
        "pipeline_value": 4_333_333,  # P01 1_000_000 + P03 3_333_333 (P05 is created at T)
        # 10_000_000 + 109_999_989 = 119_999_989 / 100 = 1_199_999.89 -> 1_200_000
        "weighted_pipeline": 1_200_000,
        "activities": 2,  # A01, A07
        "jobs_completed": 0,
        "kwh_deployed": Decimal("0.00"),
        "labor_hours": Decimal("0.00"),
        "active_installations": 0,
    },
    BEN: {
        "revenue": 2_345_678,  # O03 (P07)
        "orders": 1,
        "quotes_won": 1,  # P07 (P08 closes at T)
        "quotes_lost": 1,  # P10
        "quote_win_rate": 0.5,
        # P02 2_000_000 + P04 4_000_000 + P08 7_000_000 + P18 500_000 = 13_500_000
        "pipeline_value": 13_500_000,
        # 50_000_000 + 280_000_000 + 700_000_000 + 5_000_000 = 1_035_000_000 / 100
        "weighted_pipeline": 10_350_000,
        "activities": 4,  # A03, A05, A06, A13
        "jobs_completed": 0,
        "kwh_deployed": Decimal("0.00"),
        "labor_hours": Decimal("0.00"),
        "active_installations": 0,
    },
    TIA: {
        "revenue": 0,
        "orders": 0,
        "quotes_won": 0,
        "quotes_lost": 0,
        "quote_win_rate": None,
        "pipeline_value": 0,
        "weighted_pipeline": 0,
        "activities": 1,  # A04
        "jobs_completed": 3,  # J01, J04, J15
        "kwh_deployed": Decimal("25.15"),  # 13.50 + 7.45 + 4.20
        "labor_hours": Decimal("9.50"),  # 6.25 + 2.25 + 1.00
        "active_installations": 2,  # J06, J09 (completed exactly at T); J08 is created at T
    },
    TOM: {
        "revenue": 0,
        "orders": 0,
        "quotes_won": 0,
        "quotes_lost": 0,
        "quote_win_rate": None,
        "pipeline_value": 0,
        "weighted_pipeline": 0,
        "activities": 0,
        "jobs_completed": 3,  # J03, J10, J16
        "kwh_deployed": Decimal("18.45"),  # 10.05 + 0.40 + 8.00
        "labor_hours": Decimal("6.25"),  # 3.50 + 0.75 + 2.00
        "active_installations": 2,  # J07, J14
    },
    BOSS: {
        "revenue": 0,
        "orders": 0,
        "quotes_won": 0,
        "quotes_lost": 0,
        "quote_win_rate": None,
        "pipeline_value": 0,
        "weighted_pipeline": 0,
        "activities": 0,
        "jobs_completed": 0,
        "kwh_deployed": Decimal("0.00"),
        "labor_hours": Decimal("0.00"),
        "active_installations": 0,
    },
}
# The same range summed from the nightly table's columns.
OWNER_SLICE_STAT_COLUMNS = {
    "revenue_cents": "revenue",
    "orders": "orders",
    "quotes_won": "quotes_won",
    "quotes_lost": "quotes_lost",
    "activities": "activities",
    "jobs_completed": "jobs_completed",
    "kwh_installed": "kwh_deployed",
    "labor_hours": "labor_hours",
}
