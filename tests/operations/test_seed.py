"""seed_demo and seed_benchmark: exact volumes, determinism, and data that looks real."""

from __future__ import annotations

import hashlib
import io
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Organization, Role, User
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
from operations.seeding import TABLES

NOW = "2026-06-30T12:00:00+10:00"
SYDNEY = ZoneInfo("Australia/Sydney")
MODELS = {
    "customers": Customer,
    "products": Product,
    "opportunities": Opportunity,
    "orders": Order,
    "items": OrderItem,
    "jobs": InstallationJob,
    "claims": WarrantyClaim,
    "activities": Activity,
}
REVENUE = ["confirmed", "fulfilled"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, "--no-progress", stdout=out)
    return out.getvalue()


def counts(org: Organization) -> dict[str, int]:
    return {key: model.objects.filter(organization=org).count() for key, model in MODELS.items()}


def all_rows() -> dict[str, int]:
    rows = {key: model.objects.count() for key, model in MODELS.items()}
    return rows | {"users": User.objects.count(), "orgs": Organization.objects.count()}


def item_sums():
    """Σ unit price × quantity of each order's items, as a subquery."""
    return Subquery(
        OrderItem.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(total=Sum(F("unit_price_cents") * F("quantity")))
        .values("total")
    )


def fingerprint(org: Organization) -> str:
    """A hash of everything generated for an organisation, ids and user keys left out."""
    parts = [
        list(
            Customer.objects.filter(organization=org)
            .order_by("id")
            .values_list("name", "kind", "state", "created_at", "archived_at")
        ),
        list(
            Opportunity.objects.filter(organization=org)
            .order_by("created_at", "id")
            .values_list("value_cents", "stage", "created_at", "quoted_at", "closed_at", "name")
        ),
        list(
            Order.objects.filter(organization=org)
            .order_by("number")
            .values_list("number", "status", "ordered_at", "total_cents")
        ),
        list(
            OrderItem.objects.filter(organization=org)
            .order_by("id")
            .values_list("product__sku", "quantity", "unit_price_cents", "kwh")
        ),
        list(
            InstallationJob.objects.filter(organization=org)
            .order_by("id")
            .values_list("status", "scheduled_for", "started_at", "completed_at", "kwh")
        ),
        list(
            WarrantyClaim.objects.filter(organization=org)
            .order_by("id")
            .values_list("kind", "status", "opened_at", "resolved_at", "cost_cents")
        ),
        list(
            Activity.objects.filter(organization=org)
            .order_by("id")
            .values_list("kind", "subject", "occurred_at")
        ),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def purge(org: Organization) -> None:
    with connection.cursor() as cursor:
        for table in reversed(TABLES):
            cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [org.pk])
    User.objects.filter(organization=org).delete()
    org.delete()


# --- seed_benchmark -------------------------------------------------------------------------


@pytest.mark.django_db
def test_benchmark_year1_writes_exact_volumes_and_is_idempotent():
    output = run("seed_benchmark", "--volume", "year1", "--now", NOW)
    org = Organization.objects.get(name="Benchmark year1 #1")
    rows = counts(org)

    assert rows["customers"] == 667
    assert rows["opportunities"] == 3_333
    assert rows["orders"] == 1_667
    assert rows["activities"] == 33_333
    assert 1.5 <= rows["items"] / rows["orders"] <= 3.5
    assert OrderItem.objects.filter(organization=org, quantity__lt=1).count() == 0
    fulfilled = Order.objects.filter(organization=org, status="fulfilled").count()
    assert 0.9 * fulfilled <= rows["jobs"] <= fulfilled
    assert 0.03 <= rows["claims"] / rows["jobs"] <= 0.075
    assert "operations_activity" in output and "33,333" in output

    admin = authenticate(
        RequestFactory().post("/accounts/login/"),
        email="bench-admin-year1-s42-1@renoz.bench",
        password="renoz-bench",
    )
    assert admin is not None and admin.organization_id == org.pk and admin.role == Role.ADMIN

    anchor = datetime.fromisoformat(NOW)
    first = Opportunity.objects.filter(organization=org).order_by("created_at").first()
    assert anchor - timedelta(days=3 * 366 + 200) < first.created_at < anchor - timedelta(days=1000)
    assert not Activity.objects.filter(organization=org, occurred_at__gt=anchor).exists()
    mismatched = Order.objects.filter(organization=org).annotate(items_total=item_sums())
    assert mismatched.exclude(total_cents=F("items_total")).count() == 0

    again = run("seed_benchmark", "--volume", "year1", "--now", NOW)
    assert '"Benchmark year1 #1" already exists; skipped.' in again
    assert counts(org) == rows


@pytest.mark.django_db
def test_benchmark_same_seed_and_now_give_identical_data_other_seed_differs():
    args = ("seed_benchmark", "--volume", "year1", "--now", NOW, "--seed", "7")
    run(*args)
    first = Organization.objects.get(name="Benchmark year1 #1 (seed 7)")
    # Move the first run aside so the identical run makes a second organisation.
    Organization.objects.filter(pk=first.pk).update(name="first run")
    User.objects.filter(organization=first).update(email="first-run@renoz.bench")
    run(*args)
    second = Organization.objects.get(name="Benchmark year1 #1 (seed 7)")
    run("seed_benchmark", "--volume", "year1", "--now", NOW, "--seed", "8")
    third = Organization.objects.get(name="Benchmark year1 #1 (seed 8)")

    assert second.pk != first.pk
    assert counts(first) == counts(second)
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(third)
    won = [
        Opportunity.objects.filter(organization=o, stage="won").aggregate(v=Sum("value_cents"))["v"]
        for o in (first, second, third)
    ]
    assert won[0] == won[1] != won[2]


# --- seed_demo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo organisation, seeded once for this module and removed afterwards."""
    with django_db_blocker.unblock():
        output = run("seed_demo")
        org = Organization.objects.get(name="Renoz Energy")
        yield org, output, timezone.now()
        purge(org)


@pytest.fixture
def demo_org(demo, db) -> Organization:
    return demo[0]


def test_demo_makes_one_login_per_role_that_authenticates(demo, db):
    org, output, _now = demo
    expected = {
        "admin@renoz.demo": Role.ADMIN,
        "sales@renoz.demo": Role.SALES,
        "ops@renoz.demo": Role.OPERATIONS,
        "tech@renoz.demo": Role.TECHNICIAN,
        "viewer@renoz.demo": Role.VIEWER,
    }
    for email, role in expected.items():
        user = authenticate(
            RequestFactory().post("/accounts/login/"), email=email, password="renoz-demo"
        )
        assert user is not None, email
        assert (user.organization_id, user.role) == (org.pk, role)
        assert email in output
    admin = User.objects.get(email="admin@renoz.demo")
    assert admin.is_staff and admin.has_perm("operations.view_order")
    assert User.objects.filter(organization=org, role=Role.SALES).count() == 4
    assert User.objects.filter(organization=org, role=Role.TECHNICIAN).count() == 5
    assert org.timezone == "Australia/Sydney" and org.fiscal_year_start_month == 7


def test_demo_volumes_are_about_the_brief(demo_org):
    rows = counts(demo_org)
    assert rows["customers"] == 600
    assert rows["opportunities"] == 3_000
    assert rows["orders"] == 1_500
    assert rows["activities"] == 25_000
    assert 0.03 <= rows["claims"] / rows["jobs"] <= 0.075


def test_demo_win_rate_is_believable(demo_org):
    closed = Opportunity.objects.filter(organization=demo_org, stage__in=["won", "lost"])
    won = closed.filter(stage="won").count()
    rate = won / closed.count()
    assert 0.30 <= rate <= 0.45
    probabilities = dict(
        Opportunity.objects.filter(organization=demo_org)
        .values_list("stage", "probability")
        .distinct()
    )
    assert probabilities == {
        "lead": 10,
        "qualified": 25,
        "quoted": 50,
        "negotiation": 70,
        "won": 100,
        "lost": 0,
    }
    assert Opportunity.objects.filter(organization=demo_org, closed_at__isnull=True).count() > 50


def test_demo_revenue_grows_year_on_year(demo):
    org, _output, now = demo
    revenue = []
    for years_ago in (3, 2, 1):
        window = Order.objects.filter(
            organization=org,
            status__in=REVENUE,
            ordered_at__gte=now - timedelta(days=365 * years_ago),
            ordered_at__lt=now - timedelta(days=365 * (years_ago - 1)),
        )
        revenue.append(window.aggregate(total=Sum("total_cents"))["total"])
    assert revenue[0] < revenue[1] < revenue[2]
    for before, after in zip(revenue, revenue[1:], strict=False):
        assert 1.1 <= after / before <= 1.65


def test_demo_june_revenue_is_above_the_average_month(demo):
    org, _output, now = demo
    start = now - timedelta(days=3 * 365)
    by_month: dict[tuple[int, int], int] = defaultdict(int)
    orders = Order.objects.filter(organization=org, status__in=REVENUE, ordered_at__gte=start)
    for ordered_at, total in orders.values_list("ordered_at", "total_cents"):
        local = ordered_at.astimezone(SYDNEY)
        by_month[(local.year, local.month)] += total
    # Drop the partial first and current months.
    full = dict(sorted(by_month.items())[1:-1])
    junes = [total for (_year, month), total in full.items() if month == 6]
    assert junes
    assert statistics.mean(junes) > 1.2 * statistics.mean(full.values())


def test_demo_customers_span_all_states_weighted_by_population(demo_org):
    by_state = dict(
        Customer.objects.filter(organization=demo_org)
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    assert set(by_state) == {"NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"}
    biggest = sorted(by_state, key=by_state.get, reverse=True)[:3]
    assert set(biggest) == {"NSW", "VIC", "QLD"}
    archived = Customer.objects.filter(organization=demo_org, archived_at__isnull=False).count()
    assert 5 <= archived <= 90


def test_demo_catalogue_has_batteries_from_5_to_30_kwh_at_real_prices(demo_org):
    batteries = Product.objects.filter(organization=demo_org, category="battery")
    capacities = sorted(float(b.capacity_kwh) for b in batteries)
    assert capacities[0] == 5 and capacities[-1] == 30
    for battery in batteries:
        per_kwh = battery.unit_price_cents / 100 / float(battery.capacity_kwh)
        assert 1_000 <= per_kwh <= 1_400, battery.sku
    categories = set(
        Product.objects.filter(organization=demo_org).values_list("category", flat=True)
    )
    assert categories == {"battery", "inverter", "accessory"}


def test_demo_orders_match_their_items_and_deals(demo_org):
    orders = Order.objects.filter(organization=demo_org).annotate(items_total=item_sums())
    assert orders.exclude(total_cents=F("items_total")).count() == 0
    assert orders.filter(items_total__isnull=True).count() == 0
    numbers = list(orders.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers) and all(n.startswith("SO-") for n in numbers)
    from_deals = orders.filter(opportunity__isnull=False)
    assert from_deals.count() / orders.count() > 0.5
    assert from_deals.exclude(opportunity__stage="won").count() == 0
    assert from_deals.filter(ordered_at__lt=F("opportunity__closed_at")).count() == 0
    assert orders.filter(status__in=REVENUE).count() / orders.count() > 0.85
    assert orders.exclude(created_at=F("ordered_at")).count() == 0
    battery_items = OrderItem.objects.filter(organization=demo_org, product__category="battery")
    assert battery_items.exclude(kwh=F("product__capacity_kwh") * F("quantity")).count() == 0


def test_demo_installations_are_consistent_and_some_are_live(demo_org):
    jobs = InstallationJob.objects.filter(organization=demo_org)
    fulfilled = Order.objects.filter(organization=demo_org, status="fulfilled").count()
    assert 0.9 * fulfilled <= jobs.count() <= fulfilled
    assert jobs.exclude(order__status="fulfilled").count() == 0
    assert jobs.exclude(created_at=F("order__ordered_at")).count() == 0
    assert jobs.filter(labor_hours__lt=4).count() == jobs.filter(labor_hours__gt=40).count() == 0
    completed = jobs.filter(status="completed")
    assert completed.filter(completed_at__lt=F("started_at")).count() == 0
    active = jobs.filter(status__in=["scheduled", "in_progress"])
    assert active.count() > 5
    tech = User.objects.get(email="tech@renoz.demo")
    assert jobs.filter(technician=tech).count() > 150
    assert active.filter(technician=tech).count() >= 3
    assert set(jobs.values_list("technician__role", flat=True)) == {Role.TECHNICIAN}
    order_kwh = Subquery(
        OrderItem.objects.filter(order=OuterRef("order"), product__category="battery")
        .values("order")
        .annotate(kwh=Sum("kwh"))
        .values("kwh")
    )
    assert jobs.annotate(battery_kwh=order_kwh).exclude(kwh=F("battery_kwh")).count() == 0


def test_demo_claims_and_activities_are_plausible(demo_org):
    claims = WarrantyClaim.objects.filter(organization=demo_org)
    assert set(claims.values_list("kind", flat=True)) == {
        "defect",
        "performance",
        "installation",
        "other",
    }
    closed = claims.filter(status__in=["resolved", "rejected"])
    assert closed.count() > 0 and closed.filter(resolved_at__isnull=True).count() == 0
    assert claims.exclude(created_at=F("opened_at")).count() == 0

    activities = Activity.objects.filter(organization=demo_org)
    assert set(activities.values_list("kind", flat=True)) == {
        "call",
        "email",
        "meeting",
        "site_visit",
        "note",
    }
    assert set(activities.values_list("user__role", flat=True)) == {Role.SALES}
    assert activities.exclude(created_at=F("occurred_at")).count() == 0
    linked = activities.filter(opportunity__isnull=False)
    assert linked.count() / activities.count() > 0.6
    assert linked.filter(occurred_at__lt=F("opportunity__created_at")).count() == 0
    hours = [t.astimezone(SYDNEY).hour for t in activities.values_list("occurred_at", flat=True)]
    in_business_hours = sum(7 <= h < 18 for h in hours) / len(hours)
    assert in_business_hours > 0.97


def test_demo_runs_only_once(demo, db):
    before = all_rows()
    output = run("seed_demo")
    assert 'Organisation "Renoz Energy" already exists' in output
    assert all_rows() == before


def test_demo_if_empty_does_nothing_when_an_organisation_exists(demo, db):
    before = all_rows()
    output = run("seed_demo", "--if-empty")
    assert "skipping" in output
    assert all_rows() == before
