"""The database itself refuses bad operational rows.

Every row here is written with `bulk_create` or `.update()`, which skip Python-side
validation, so what refuses the row is the PostgreSQL check or unique constraint named in
the case. Each case also names the constraint, so a test cannot pass on the wrong refusal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, models, transaction

from accounts.models import Organization, User
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

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
BEFORE_T0 = T0 - dt.timedelta(days=1)
AFTER_T0 = T0 + dt.timedelta(days=3)


@pytest.fixture
def world(org, owner):
    """One valid row of each kind in the owner's organisation, to hang new rows from."""
    customer = Customer.objects.create(
        organization=org, name="Acme Cold Storage", kind="industrial", state="NSW", created_at=T0
    )
    product = Product.objects.create(
        organization=org,
        sku="RZ-LFP-10",
        name="Renoz LFP 10 kWh",
        category="battery",
        capacity_kwh=Decimal("10.00"),
        unit_price_cents=850_000,
    )
    opportunity = Opportunity.objects.create(
        organization=org,
        customer=customer,
        owner=owner,
        name="Cold store backup",
        stage="quoted",
        value_cents=4_000_000,
        probability=60,
        created_at=T0,
        quoted_at=T0,
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        opportunity=opportunity,
        number="SO-1001",
        status="confirmed",
        ordered_at=T0,
        total_cents=1_700_000,
        created_at=T0,
    )
    job = InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        technician=owner,
        status="scheduled",
        scheduled_for=AFTER_T0,
        created_at=T0,
    )
    claim = WarrantyClaim.objects.create(
        organization=org,
        customer=customer,
        order=order,
        product=product,
        kind="defect",
        status="open",
        opened_at=T0,
        created_at=T0,
    )
    return SimpleNamespace(
        org=org,
        owner=owner,
        customer=customer,
        product=product,
        opportunity=opportunity,
        order=order,
        job=job,
        claim=claim,
    )


def valid_fields(w) -> dict[str, tuple[type[models.Model], dict]]:
    """Valid field values for a new row of each kind; a case overrides what it breaks."""
    return {
        "organization": (Organization, {"name": "Second Org"}),
        "user": (User, {"email": "new@renoz.test", "organization": w.org, "role": "sales"}),
        "customer": (
            Customer,
            {
                "organization": w.org,
                "name": "New Customer",
                "kind": "commercial",
                "state": "VIC",
                "created_at": T0,
            },
        ),
        "product": (
            Product,
            {
                "organization": w.org,
                "sku": "RZ-INV-5",
                "name": "Inverter 5 kW",
                "category": "inverter",
                "capacity_kwh": None,
                "unit_price_cents": 250_000,
            },
        ),
        "opportunity": (
            Opportunity,
            {
                "organization": w.org,
                "customer": w.customer,
                "owner": w.owner,
                "name": "New deal",
                "stage": "lead",
                "value_cents": 1_000_000,
                "probability": 10,
                "created_at": T0,
            },
        ),
        "order": (
            Order,
            {
                "organization": w.org,
                "customer": w.customer,
                "number": "SO-2002",
                "status": "draft",
                "ordered_at": T0,
                "total_cents": 500_000,
                "created_at": T0,
            },
        ),
        "order_item": (
            OrderItem,
            {
                "organization": w.org,
                "order": w.order,
                "product": w.product,
                "quantity": 2,
                "unit_price_cents": 850_000,
                "kwh": Decimal("20.00"),
            },
        ),
        "activity": (
            Activity,
            {
                "organization": w.org,
                "user": w.owner,
                "kind": "call",
                "customer": w.customer,
                "subject": "Intro call",
                "occurred_at": T0,
                "created_at": T0,
            },
        ),
        "job": (
            InstallationJob,
            {
                "organization": w.org,
                "order": w.order,
                "customer": w.customer,
                "technician": w.owner,
                "status": "scheduled",
                "scheduled_for": AFTER_T0,
                "kwh": Decimal("20.00"),
                "labor_hours": Decimal("6.50"),
                "created_at": T0,
            },
        ),
        "claim": (
            WarrantyClaim,
            {
                "organization": w.org,
                "customer": w.customer,
                "product": w.product,
                "kind": "performance",
                "status": "open",
                "opened_at": T0,
                "cost_cents": 0,
                "created_at": T0,
            },
        ),
    }


def insert(world, row_type: str, /, **overrides) -> models.Model:
    """Write one row with bulk_create, which skips full_clean(), so only the database judges."""
    model, fields = valid_fields(world)[row_type]
    row = model(**{**fields, **overrides})
    model.objects.bulk_create([row])
    return row


def case_ids(cases) -> list[str]:
    return [
        f"{case[0]}-" + ("-".join(f"{k}={v}" for k, v in case[1].items()) or "defaults")
        for case in cases
    ]


REFUSED_INSERTS = [
    # invalid choice values
    ("user", {"role": "superadmin"}, "user_role_valid"),
    ("customer", {"kind": "residential"}, "customer_kind_valid"),
    ("customer", {"state": "NZ"}, "customer_state_valid"),
    ("product", {"category": "solar_panel"}, "product_category_valid"),
    # Tricky: an unknown stage is neither open nor closed, so the closed_at rule may fire first
    # (PostgreSQL checks constraints in name order); either refusal is correct.
    ("opportunity", {"stage": "pending"}, "opportunity_stage_valid|opportunity_closed_at_matches"),
    ("order", {"status": "paid"}, "order_status_valid"),
    ("activity", {"kind": "sms"}, "activity_kind_valid"),
    ("job", {"status": "done"}, "job_status_valid"),
    ("claim", {"kind": "fraud"}, "claim_kind_valid"),
    ("claim", {"status": "closed"}, "claim_status_valid"),
    # negative money, energy, cost and quantities
    ("product", {"unit_price_cents": -1}, "product_price_non_negative"),
    ("product", {"capacity_kwh": Decimal("-0.01")}, "product_capacity_non_negative"),
    ("opportunity", {"value_cents": -100}, "opportunity_value_non_negative"),
    ("order", {"total_cents": -1}, "order_total_non_negative"),
    ("order_item", {"quantity": 0}, "orderitem_quantity_positive"),
    ("order_item", {"quantity": -3}, "orderitem_quantity"),
    ("order_item", {"unit_price_cents": -5}, "orderitem_price_non_negative"),
    ("order_item", {"kwh": Decimal("-1.00")}, "orderitem_kwh_non_negative"),
    ("job", {"kwh": Decimal("-0.50")}, "job_kwh_non_negative"),
    ("job", {"labor_hours": Decimal("-1.00")}, "job_hours_non_negative"),
    ("claim", {"cost_cents": -1}, "claim_cost_non_negative"),
    # ranges
    ("organization", {"fiscal_year_start_month": 13}, "organization_fiscal_month_valid"),
    ("organization", {"fiscal_year_start_month": 0}, "organization_fiscal_month_valid"),
    ("opportunity", {"probability": 101}, "opportunity_probability_0_100"),
    # opportunity stage and closed_at agree
    ("opportunity", {"stage": "won", "closed_at": None}, "opportunity_closed_at_matches_stage"),
    ("opportunity", {"stage": "lost", "closed_at": None}, "opportunity_closed_at_matches_stage"),
    ("opportunity", {"stage": "lead", "closed_at": AFTER_T0}, "opportunity_closed_at_matches"),
    (
        "opportunity",
        {"stage": "negotiation", "closed_at": AFTER_T0},
        "opportunity_closed_at_matches_stage",
    ),
    ("opportunity", {"stage": "won", "closed_at": BEFORE_T0}, "opportunity_closed_after_created"),
    # installation job lifecycle
    ("job", {"status": "completed", "completed_at": None}, "job_completed_has_time"),
    ("job", {"status": "cancelled", "cancelled_at": None}, "job_cancelled_has_time"),
    (
        "job",
        {"status": "completed", "completed_at": AFTER_T0, "cancelled_at": AFTER_T0},
        "job_not_both_completed_and_cancelled",
    ),
    (
        "job",
        {"status": "cancelled", "completed_at": AFTER_T0, "cancelled_at": AFTER_T0},
        "job_not_both_completed_and_cancelled",
    ),
    # warranty claim lifecycle
    ("claim", {"status": "resolved", "resolved_at": None}, "claim_closed_has_resolved_at"),
    ("claim", {"status": "rejected", "resolved_at": None}, "claim_closed_has_resolved_at"),
    ("claim", {"status": "resolved", "resolved_at": BEFORE_T0}, "claim_resolved_after_opened"),
    # customer lifecycle
    ("customer", {"archived_at": BEFORE_T0}, "customer_archived_after_created"),
]


@pytest.mark.parametrize(
    ("row_type", "fields", "constraint"),
    REFUSED_INSERTS,
    ids=case_ids(REFUSED_INSERTS),
)
def test_database_refuses_bad_row(world, row_type, fields, constraint):
    model = valid_fields(world)[row_type][0]
    before = model.objects.count()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        insert(world, row_type, **fields)
    assert model.objects.count() == before


VALID_INSERTS = [
    ("organization", {"fiscal_year_start_month": 1}),
    ("user", {"role": "technician"}),
    ("customer", {}),
    ("customer", {"archived_at": AFTER_T0}),
    ("customer", {"archived_at": T0}),
    ("product", {}),
    ("product", {"capacity_kwh": Decimal("0.00"), "unit_price_cents": 0}),
    ("opportunity", {}),
    ("opportunity", {"probability": 100, "stage": "negotiation"}),
    ("opportunity", {"probability": 0}),
    ("opportunity", {"stage": "won", "closed_at": AFTER_T0}),
    ("opportunity", {"stage": "lost", "closed_at": T0}),
    ("order", {}),
    ("order", {"status": "cancelled", "total_cents": 0}),
    ("order_item", {}),
    ("order_item", {"quantity": 1, "kwh": Decimal("0.00")}),
    ("activity", {"kind": "site_visit", "customer": None}),
    ("job", {}),
    ("job", {"status": "in_progress", "started_at": AFTER_T0}),
    ("job", {"status": "completed", "completed_at": AFTER_T0}),
    ("job", {"status": "cancelled", "cancelled_at": AFTER_T0}),
    ("claim", {}),
    ("claim", {"status": "approved", "cost_cents": 120_000}),
    ("claim", {"status": "resolved", "resolved_at": T0}),
    ("claim", {"status": "rejected", "resolved_at": AFTER_T0}),
]


@pytest.mark.parametrize(
    ("row_type", "fields"),
    VALID_INSERTS,
    ids=case_ids(VALID_INSERTS),
)
def test_database_accepts_valid_row(world, row_type, fields):
    model = valid_fields(world)[row_type][0]
    before = model.objects.count()
    with transaction.atomic():
        insert(world, row_type, **fields)
    assert model.objects.count() == before + 1


REFUSED_UPDATES = [
    ("customer", {"archived_at": BEFORE_T0}, "customer_archived_after_created"),
    ("customer", {"state": "XX"}, "customer_state_valid"),
    ("product", {"unit_price_cents": -1}, "product_price_non_negative"),
    ("opportunity", {"stage": "won"}, "opportunity_closed_at_matches_stage"),
    ("opportunity", {"probability": 150}, "opportunity_probability_0_100"),
    ("order", {"status": "shipped"}, "order_status_valid"),
    ("job", {"status": "completed"}, "job_completed_has_time"),
    ("claim", {"status": "resolved"}, "claim_closed_has_resolved_at"),
    ("claim", {"resolved_at": BEFORE_T0}, "claim_resolved_after_opened"),
]


@pytest.mark.parametrize(
    ("attr", "fields", "constraint"),
    REFUSED_UPDATES,
    ids=case_ids(REFUSED_UPDATES),
)
def test_database_refuses_bad_update(world, attr, fields, constraint):
    row = getattr(world, attr)
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(**fields)
    stored = type(row).objects.get(pk=row.pk)
    for field in fields:
        assert getattr(stored, field) == getattr(row, field)


def test_closing_an_opportunity_with_its_time_is_accepted(world):
    updated = Opportunity.objects.filter(pk=world.opportunity.pk).update(
        stage="won", closed_at=AFTER_T0
    )
    assert updated == 1
    assert Opportunity.objects.get(pk=world.opportunity.pk).stage == "won"


def test_order_number_is_unique_within_an_organisation(world):
    with pytest.raises(IntegrityError, match="order_number_unique"), transaction.atomic():
        insert(world, "order", number=world.order.number)
    assert Order.objects.filter(number=world.order.number).count() == 1


def test_same_order_number_is_allowed_in_another_organisation(world, other_org):
    elsewhere = Customer.objects.create(
        organization=other_org, name="Perth Mine Co", kind="industrial", state="WA", created_at=T0
    )
    insert(world, "order", organization=other_org, customer=elsewhere, number=world.order.number)
    assert set(
        Order.objects.filter(number=world.order.number).values_list("organization", flat=True)
    ) == {world.org.pk, other_org.pk}


def test_product_sku_is_unique_within_an_organisation_only(world, other_org):
    with pytest.raises(IntegrityError, match="product_sku_unique"), transaction.atomic():
        insert(world, "product", sku=world.product.sku)
    insert(world, "product", organization=other_org, sku=world.product.sku)
    assert Product.objects.filter(sku=world.product.sku).count() == 2
