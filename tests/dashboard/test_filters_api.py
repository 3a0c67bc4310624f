"""The API after issue 14: rolled-up targets with pace and forecast, the running bucket, and
dashboard filters, each checked against values worked out by hand (filters also against SQL
written here, straight on the operations tables)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection

from dashboard import layouts
from operations.models import Customer, Product, WarrantyClaim
from targets.models import Target
from tests.conftest import make_user
from tests.targets.helpers import closed_quote, local, order

pytestmark = pytest.mark.django_db


def target(org, metric, start, value, kind="month"):
    return Target.objects.create(
        organization=org, metric=metric, period_kind=kind, period_start=start, value=Decimal(value)
    )


def api(client, user, path, **params):
    client.force_login(user)
    return client.get(path, params)


# --- Targets: roll-up, pace, forecast -----------------------------------------------------------


@pytest.fixture
def quarter(org):
    """Q2 FY27 (Oct–Dec 2026): monthly targets, two orders and four closed quotes."""
    for month, value in ((10, 10_000_000), (11, 12_000_000), (12, 14_000_000)):
        target(org, "revenue", dt.date(2026, month, 1), value)
    target(org, "quote_win_rate", dt.date(2026, 12, 1), "0.38")
    target(org, "quote_win_rate", dt.date(2026, 10, 1), "0.50")
    order(org, local(2026, 9, 30, 23), 5_000_000)  # the quarter before
    order(org, local(2026, 10, 5), 9_000_000)
    order(org, local(2026, 11, 10), 6_000_000)
    closed_quote(org, local(2026, 10, 20), "won")
    for day in ((10, 21), (11, 2), (11, 3)):
        closed_quote(org, local(2026, *day), "lost")


@time_machine.travel(local(2026, 11, 16), tick=False)
def test_a_quarter_target_rolls_up_from_its_months_with_pace_and_forecast(client, owner, quarter):
    body = api(
        client,
        owner,
        "/api/dashboard/metrics",
        range="this_quarter",
        compare="none",
        metrics="revenue,quote_win_rate",
    ).json()
    revenue = body["metrics"]["revenue"]
    assert revenue["value"] == 15_000_000
    goal = revenue["target"]
    # 46 of the quarter's 92 days have passed (no sales a year ago: linear), so half of
    # $360,000 is expected: $180,000; $150,000 is 83.3 % of that pace, forecast $300,000.
    assert goal["value"] == 36_000_000
    assert goal["source"] == "rolled_up"
    assert goal["rollup"] == {"rule": "sum", "months": 3}
    assert goal["expected_to_date"] == 18_000_000
    assert goal["pace_pct"] == 83.3
    assert goal["forecast"] == 30_000_000
    assert goal["progress_pct"] == 41.7
    assert goal["status"] == "behind"
    # A rate does not sum: December's 38 % is the quarter's, against 1 won of 4 closed.
    rate = body["metrics"]["quote_win_rate"]
    assert rate["value"] == 0.25
    assert rate["target"]["value"] == 0.38
    assert rate["target"]["source"] == "rolled_up"
    assert rate["target"]["rollup"] == {"rule": "last_month", "months": 1, "month": "Dec 2026"}
    assert rate["target"]["status"] == "behind"  # 0.25 / 0.38 = 66 %


@time_machine.travel(local(2026, 11, 16), tick=False)
def test_an_explicit_quarter_target_wins_and_missing_months_do_not_roll_up(client, owner, quarter):
    target(
        org=owner.organization,
        metric="revenue",
        start=dt.date(2026, 10, 1),
        value=40_000_000,
        kind="quarter",
    )
    goal = api(
        client, owner, "/api/dashboard/metrics", range="this_quarter", metrics="revenue"
    ).json()["metrics"]["revenue"]["target"]
    assert (goal["value"], goal["source"], goal["rollup"]) == (40_000_000, "explicit", None)
    Target.objects.filter(period_kind="quarter").delete()
    Target.objects.filter(period_start=dt.date(2026, 12, 1), metric="revenue").delete()
    cache.clear()  # a bulk delete bypasses targets.actions, which would bump the version
    body = api(client, owner, "/api/dashboard/metrics", range="this_quarter", metrics="revenue")
    assert body.json()["metrics"]["revenue"]["target"] is None


@time_machine.travel(local(2026, 12, 2, 9), tick=False)
def test_a_finished_month_is_met_or_missed(client, owner, quarter):
    # November: $60,000 of $120,000.
    goal = api(
        client, owner, "/api/dashboard/metrics", range="last_month", metrics="revenue"
    ).json()["metrics"]["revenue"]["target"]
    assert (goal["status"], goal["progress_pct"], goal["source"]) == ("missed", 50.0, "explicit")


# --- The running bucket -------------------------------------------------------------------------


@time_machine.travel(local(2026, 12, 2, 10), tick=False)
def test_the_running_day_is_a_partial_point(client, owner):
    order(owner.organization, local(2026, 12, 1, 15), 3_000_000)
    order(owner.organization, local(2026, 12, 2, 9), 1_000_000)
    body = api(
        client,
        owner,
        "/api/dashboard/timeseries",
        metric="revenue",
        range="this_month",
        compare="none",
        interval="day",
    ).json()
    assert [(p["date"], p["value"], p["partial"]) for p in body["points"]] == [
        ("2026-12-01", 3_000_000, False),
        ("2026-12-02", 1_000_000, True),
    ]


# --- Filters ------------------------------------------------------------------------------------


@pytest.fixture
def spread(org, other_org):
    """Customers in three states and kinds, orders and claims for each, in Q1 FY27."""
    rep = make_user(org, "sales", "rep@example.com")
    made = {}
    for name, state, kind in (
        ("Sydney Co", "NSW", "commercial"),
        ("Brisbane Farm", "QLD", "agricultural"),
        ("Gold Coast Builders", "QLD", "builder"),
    ):
        made[name] = Customer.objects.create(
            organization=org, name=name, kind=kind, state=state, created_at=local(2025, 1, 1)
        )
    order(org, local(2026, 7, 3), 1_100_000, buyer=made["Sydney Co"])
    order(org, local(2026, 8, 4), 2_200_000, buyer=made["Brisbane Farm"], owner=rep)
    order(org, local(2026, 9, 5), 3_300_000, buyer=made["Gold Coast Builders"])
    order(org, local(2026, 9, 6), 9_900_000, buyer=made["Gold Coast Builders"], status="cancelled")
    order(org, local(2026, 10, 1), 4_400_000, buyer=made["Brisbane Farm"])  # after the range
    products = {
        category: Product.objects.create(
            organization=org,
            sku=f"P-{category}",
            name=category,
            category=category,
            capacity_kwh=Decimal(5),
            unit_price_cents=100,
        )
        for category in ("battery", "inverter")
    }
    for name, category, day in (
        ("Sydney Co", "battery", 10),
        ("Brisbane Farm", "battery", 11),
        ("Brisbane Farm", "inverter", 12),
        ("Gold Coast Builders", "battery", 13),
    ):
        WarrantyClaim.objects.create(
            organization=org,
            customer=made[name],
            product=products[category],
            kind="installation",
            status="open",
            opened_at=local(2026, 8, day),
            created_at=local(2026, 8, day),
            cost_cents=0,
        )
    return {"rep": rep, **made}


Q1 = {"from": "2026-07-01", "to": "2026-09-30", "compare": "none"}


def sql_one(query: str, params: dict) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()


def sales_in_state(org, state: str) -> tuple[int, int]:
    return sql_one(
        """SELECT COALESCE(SUM(o.total_cents), 0), COUNT(*)
           FROM operations_order o JOIN operations_customer c ON c.id = o.customer_id
           WHERE o.organization_id = %(org)s AND o.status IN ('confirmed', 'fulfilled')
             AND c.state = %(state)s
             AND o.ordered_at >= %(start)s AND o.ordered_at < %(end)s""",
        {"org": org.pk, "state": state, "start": local(2026, 7, 1), "end": local(2026, 10, 1)},
    )


def claims_of_category(org, category: str, state: str | None = None) -> int:
    return sql_one(
        """SELECT COUNT(*) FROM operations_warrantyclaim w
           JOIN operations_product p ON p.id = w.product_id
           JOIN operations_customer c ON c.id = w.customer_id
           WHERE w.organization_id = %(org)s AND p.category = %(category)s
             AND (%(state)s::text IS NULL OR c.state = %(state)s)
             AND w.opened_at >= %(start)s AND w.opened_at < %(end)s""",
        {
            "org": org.pk,
            "category": category,
            "state": state,
            "start": local(2026, 7, 1),
            "end": local(2026, 10, 1),
        },
    )[0]


def test_a_filtered_metric_equals_sql_on_the_records(client, owner, spread):
    org = owner.organization
    body = api(
        client,
        owner,
        "/api/dashboard/metrics",
        **Q1,
        state="QLD",
        metrics="revenue,orders,warranty_claims",
    ).json()
    revenue, orders = sales_in_state(org, "QLD")
    assert (revenue, orders) == (5_500_000, 2)  # by hand: $22,000 + $33,000
    assert body["metrics"]["revenue"]["value"] == revenue
    assert body["metrics"]["orders"]["value"] == orders
    assert body["filters"] == {"state": "QLD"}
    # Filters combine: QLD battery claims.
    body = api(
        client,
        owner,
        "/api/dashboard/metrics",
        **Q1,
        state="QLD",
        category="battery",
        metrics="warranty_claims,pipeline_value",
    ).json()
    assert body["metrics"]["warranty_claims"]["value"] == claims_of_category(org, "battery", "QLD")
    assert body["metrics"]["warranty_claims"]["value"] == 2
    # Category cannot narrow the pipeline: it says so instead of an unfiltered number.
    assert body["metrics"]["pipeline_value"]["value"] is None
    assert body["metrics"]["pipeline_value"]["not_filtered_by"] == ["category"]


def test_customer_kind_and_owner_filters(client, owner, spread):
    kind = api(
        client, owner, "/api/dashboard/metrics", **Q1, kind="builder", metrics="revenue"
    ).json()
    assert kind["metrics"]["revenue"]["value"] == 3_300_000
    assert kind["filters"] == {"customer_kind": "builder"}
    mine = api(
        client,
        owner,
        "/api/dashboard/metrics",
        **Q1,
        owner=str(spread["rep"].pk),
        metrics="revenue,warranty_claims",
    ).json()["metrics"]
    assert mine["revenue"]["value"] == 2_200_000  # the one order of the rep's opportunity
    assert mine["warranty_claims"]["not_filtered_by"] == ["owner"]  # claims have no owner


def test_the_timeseries_is_filtered_too(client, owner, spread):
    body = api(
        client,
        owner,
        "/api/dashboard/timeseries",
        **Q1,
        metric="revenue",
        interval="month",
        state="QLD",
    ).json()
    assert [p["value"] for p in body["points"]] == [0, 2_200_000, 3_300_000]
    refused = api(
        client, owner, "/api/dashboard/timeseries", **Q1, metric="quotes_won", category="battery"
    )
    assert refused.status_code == 400
    assert "category" in refused.json()["error"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "XX"}, "Unknown state 'XX'"),
        ({"category": "solar"}, "Unknown category 'solar'"),
        ({"customer_kind": "alien"}, "Unknown customer_kind 'alien'"),
        ({"owner": "99999999"}, "Unknown owner"),
        ({"owner": "abc"}, "Unknown owner"),
    ],
)
def test_unknown_filter_values_are_a_400(client, owner, params, message):
    response = api(client, owner, "/api/dashboard/metrics", **params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_an_owner_from_another_organisation_is_unknown(client, owner, outsider):
    response = api(client, owner, "/api/dashboard/metrics", owner=str(outsider.pk))
    assert response.status_code == 400


def test_the_drill_down_and_its_export_follow_the_filters(client, owner, spread):
    org = owner.organization
    client.force_login(owner)
    response = client.get("/dashboard/drill/revenue/", {**Q1, "state": "QLD"})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.value, summary.count) == sales_in_state(org, "QLD")
    assert "Customer state: QLD" in response.content.decode()
    csv = client.get("/dashboard/drill/revenue/", {**Q1, "state": "QLD", "format": "csv"})
    lines = b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode()
    assert "Brisbane Farm" in lines and "Gold Coast Builders" in lines
    assert "Sydney Co" not in lines
    refused = client.get("/dashboard/drill/quotes_won/", {**Q1, "category": "battery"})
    assert refused.status_code == 400


def test_widgets_say_when_a_filter_does_not_apply(client, owner, spread):
    client.force_login(owner)
    layout, _own = layouts.get_layout(owner)
    revenue_kpi = next(
        w for w in layout if w["type"] == "kpi" and w["settings"]["metric"] == "revenue"
    )
    kwh_kpi = next(
        w for w in layout if w["type"] == "kpi" and w["settings"]["metric"] == "kwh_deployed"
    )
    page = client.get(f"/dashboard/widgets/{kwh_kpi['id']}/", {**Q1, "category": "battery"})
    assert "kWh deployed cannot be filtered by product category." in page.content.decode()
    page = client.get(f"/dashboard/widgets/{revenue_kpi['id']}/", {**Q1, "state": "QLD"})
    assert 'data-value="5500000"' in page.content.decode()
    assert "state=QLD" in page.content.decode()  # its drill link keeps the filter


def test_the_dashboard_shows_filters_as_removable_chips(client, owner, spread):
    client.force_login(owner)
    page = client.get("/dashboard/", {"range": "this_month", "state": "QLD", "category": "battery"})
    html = page.content.decode()
    assert "Customer state: <strong>QLD</strong>" in html
    assert "Product category: <strong>Battery</strong>" in html
    assert (
        'href="/dashboard/?range=this_month&amp;compare=previous_period&amp;category=battery"'
        in html
    )
    assert client.get("/dashboard/", {"state": "Queensland"}).status_code == 400
