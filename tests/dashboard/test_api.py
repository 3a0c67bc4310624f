"""The JSON API: the §10 shape, exact values, tenancy and bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from metrics.definitions import METRICS
from metrics.refresh import refresh_summaries
from operations.models import Customer, Order, OrderItem, Product

pytestmark = pytest.mark.django_db


def local(org, y, m, d, hh=10):
    return dt.datetime(y, m, d, hh, tzinfo=org.tz)


@pytest.fixture
def orders(org, other_org):
    """Known orders: 3 in Q3 FY27 in Sydney time, one just before midnight UTC boundary."""
    cust = Customer.objects.create(
        organization=org,
        name="Acme",
        kind="commercial",
        state="NSW",
        created_at=local(org, 2025, 1, 1),
    )
    product = Product.objects.create(
        organization=org,
        sku="B10",
        name="Battery",
        category="battery",
        capacity_kwh=Decimal(10),
        unit_price_cents=1_000_000,
    )
    rows = [
        (local(org, 2026, 7, 1, 0), 1_000_000, "confirmed"),  # local midnight, 30 Jun 14:00 UTC
        (local(org, 2026, 8, 15), 2_500_000, "fulfilled"),
        (local(org, 2026, 9, 30, 23), 700_000, "confirmed"),
        (local(org, 2026, 9, 30, 12), 9_900_000, "cancelled"),
        (local(org, 2025, 8, 1), 4_000_000, "fulfilled"),  # previous year
    ]
    for i, (at, cents, status) in enumerate(rows):
        order = Order.objects.create(
            organization=org,
            customer=cust,
            number=f"SO-{i}",
            status=status,
            ordered_at=at,
            created_at=at,
            total_cents=cents,
        )
        OrderItem.objects.create(
            organization=org,
            order=order,
            product=product,
            quantity=1,
            unit_price_cents=cents,
            kwh=Decimal(10),
        )
    other = Customer.objects.create(
        organization=other_org, name="Other", kind="commercial", state="WA"
    )
    Order.objects.create(
        organization=other_org,
        customer=other,
        number="X-1",
        status="confirmed",
        ordered_at=local(org, 2026, 8, 1),
        total_cents=123_456_789,
    )
    refresh_summaries()


def test_metrics_match_the_contract_field_for_field(client, owner, orders):
    client.force_login(owner)
    response = client.get(
        "/api/dashboard/metrics",
        {
            "from": "2026-07-01",
            "to": "2026-09-30",
            "compare": "previous_year",
            "metrics": "revenue,orders",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"organization", "timezone", "range", "comparison", "as_of", "metrics"}
    assert body["organization"] == "Renoz Energy"
    assert body["timezone"] == "Australia/Sydney"
    assert body["range"] == {"from": "2026-07-01", "to": "2026-09-30", "to_date": False}
    assert body["comparison"] == {"kind": "previous_year", "from": "2025-07-01", "to": "2025-09-30"}
    dt.datetime.fromisoformat(body["as_of"])
    revenue = body["metrics"]["revenue"]
    assert set(revenue) == {
        "value",
        "unit",
        "previous",
        "change",
        "change_pct",
        "trend",
        "good",
        "target",
        "scope",
    }
    assert revenue["scope"] == "organization"
    assert revenue["value"] == 1_000_000 + 2_500_000 + 700_000
    assert revenue["previous"] == 4_000_000
    assert revenue["change"] == 200_000
    assert revenue["change_pct"] == 5.0
    assert (revenue["trend"], revenue["good"], revenue["unit"]) == ("up", True, "aud_cents")
    assert body["metrics"]["orders"]["value"] == 3
    assert set(body["metrics"]) == {"revenue", "orders"}


def test_timeseries_buckets_by_local_month(client, owner, orders):
    client.force_login(owner)
    response = client.get(
        "/api/dashboard/timeseries",
        {
            "metric": "revenue",
            "interval": "month",
            "from": "2026-07-01",
            "to": "2026-09-30",
            "compare": "previous_year",
        },
    )
    assert response.status_code == 200
    points = response.json()["points"]
    assert [(p["date"], p["value"], p["previous"]) for p in points] == [
        ("2026-07-01", 1_000_000, 0),
        ("2026-08-01", 2_500_000, 4_000_000),
        ("2026-09-01", 700_000, 0),
    ]


def test_another_organisations_rows_never_count(client, outsider, orders):
    client.force_login(outsider)
    body = client.get("/api/dashboard/metrics", {"from": "2026-07-01", "to": "2026-09-30"}).json()
    assert body["organization"] == "Outsider Pty Ltd"
    assert body["metrics"]["revenue"]["value"] == 123_456_789


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"metrics": "revenue,profit"}, "Unknown metric 'profit'"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "not a real date"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "after"),
        ({"from": "2010-01-01", "to": "2026-02-01"}, "10 years"),
        ({"range": "eternity"}, "Unknown range"),
        ({"compare": "'; DROP TABLE operations_order; --"}, "Unknown compare"),
    ],
)
def test_bad_input_gets_a_400_saying_what_is_accepted(client, owner, params, fragment):
    client.force_login(owner)
    response = client.get("/api/dashboard/metrics", params)
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_timeseries_bad_input(client, owner):
    client.force_login(owner)
    assert "required" in client.get("/api/dashboard/timeseries").json()["error"]
    response = client.get("/api/dashboard/timeseries", {"metric": "revenue", "interval": "hour"})
    assert response.status_code == 400
    assert "day, week, month" in response.json()["error"]


def test_anonymous_gets_401(client):
    response = client.get("/api/dashboard/metrics")
    assert response.status_code == 401
    assert "log in" in response.json()["error"]


def test_all_metrics_are_served_by_default(client, owner, orders):
    client.force_login(owner)
    body = client.get("/api/dashboard/metrics", {"range": "this_month"}).json()
    assert set(body["metrics"]) == set(METRICS)
    assert body["range"]["to_date"] is True


def test_cached_answer_is_reused_until_data_changes(
    client, owner, orders, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    params = {"from": "2026-07-01", "to": "2026-09-30", "metrics": "revenue"}
    first = client.get("/api/dashboard/metrics", params).json()
    with django_assert_max_num_queries(3):  # session + user + org only: no metric queries
        second = client.get("/api/dashboard/metrics", params).json()
    assert second["metrics"] == first["metrics"]
    order = Order.objects.get(number="SO-1")
    with django_capture_on_commit_callbacks(execute=True):
        order.status = "cancelled"
        order.save()
    third = client.get("/api/dashboard/metrics", params).json()
    assert third["metrics"]["revenue"]["value"] == first["metrics"]["revenue"]["value"] - 2_500_000


def test_a_write_only_drops_the_values_built_from_its_source(
    client, owner, orders, django_capture_on_commit_callbacks
):
    from metrics import cache as metric_cache
    from operations.models import Activity

    client.force_login(owner)
    params = {"from": "2026-07-01", "to": "2026-09-30", "metrics": "revenue"}
    client.get("/api/dashboard/metrics", params)
    metric_cache.reset_stats()
    with django_capture_on_commit_callbacks(execute=True):
        Activity.objects.create(
            organization=owner.organization,
            kind="call",
            occurred_at=local(owner.organization, 2026, 8, 2),
        )
    client.get("/api/dashboard/metrics", params)
    assert metric_cache.cache_stats()["misses"] == 0  # revenue does not read activities
    with django_capture_on_commit_callbacks(execute=True):
        order = Order.objects.filter(number="SO-2").get()
        order.total_cents = 900_000  # 30 September's order: $7,000 → $9,000
        order.save()
    body = client.get("/api/dashboard/metrics", params).json()
    assert metric_cache.cache_stats()["misses"] >= 1
    assert body["metrics"]["revenue"]["value"] == 4_400_000  # $10,000 + $25,000 + $9,000


def test_a_ten_year_daily_series_is_refused_at_once_with_a_coarser_suggestion(client, owner):
    client.force_login(owner)
    params = {"metric": "activities", "from": "2016-10-20", "to": "2026-10-17"}
    response = client.get("/api/dashboard/timeseries", {**params, "interval": "day"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert "400 days" in message and "interval=week" in message and "interval=month" in message
    monthly = client.get("/api/dashboard/timeseries", {**params, "interval": "month"})
    assert monthly.status_code == 200
    assert len(monthly.json()["points"]) == 121  # Oct 2016 .. Oct 2026
