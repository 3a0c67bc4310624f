"""Revenue, orders, average order value and kWh sold by product category (docs/architecture.md,
"Sources and metrics": the sales source's grain and the category rule).

Every figure is worked out by hand from the fixture's item lines (quantity x unit price, ex
GST), never read back from the code under test. November 2026, Sydney:

| order | status    | lines                                                  | total     |
|-------|-----------|--------------------------------------------------------|-----------|
| O1    | confirmed | battery 2 x 500,000 (20 kWh); inverter 1 x 250,000     | 1,250,000 |
| O2    | fulfilled | battery 1 x 500,000 (10 kWh) + 1 x 480,000 (10 kWh);   | 1,025,000 |
|       |           | accessory 3 x 15,000                                   |           |
| O3    | confirmed | inverter 2 x 250,000; 20,000 freight on no item        |   520,000 |
| O4    | draft     | battery 1 x 500,000 (not counted: a draft)             |   500,000 |
| O5    | confirmed | no items                                               |   300,000 |

Unfiltered (as before): revenue 3,095,000 over 4 orders, AOV 773,750, kWh sold 40.
Battery: 1,000,000 + 980,000 = 1,980,000 over 2 orders (O2's two battery lines count once),
AOV 990,000, 40 kWh. Inverter: 250,000 + 500,000 = 750,000 over 2 orders, AOV 375,000.
Accessory: 45,000 over 1 order. No category: O3's 20,000 and O5's 300,000 (2 orders).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from dashboard import layouts
from metrics.engine import Slice
from metrics.models import DirtyDay
from metrics.periods import parse_state
from metrics.queries import compute_values, get_breakdown, get_metrics, metric_records
from metrics.refresh import refresh_changes
from operations.models import OrderItem, Product
from presentation.widgets.base import WidgetContext
from presentation.widgets.sales import build_sales_by_category
from tests.targets.helpers import local, order

pytestmark = pytest.mark.django_db

NOV = {"from": "2026-11-01", "to": "2026-11-15", "compare": "none"}
NOW = local(2026, 11, 20, 12)
KEYS = ["revenue", "orders", "average_order_value", "kwh_sold"]

UNFILTERED = {"revenue": 3_095_000, "orders": 4, "average_order_value": 773_750, "kwh_sold": 40.0}
BATTERY = {"revenue": 1_980_000, "orders": 2, "average_order_value": 990_000, "kwh_sold": 40.0}
INVERTER = {"revenue": 750_000, "orders": 2, "average_order_value": 375_000, "kwh_sold": 0.0}
ACCESSORY = {"revenue": 45_000, "orders": 1, "average_order_value": 45_000, "kwh_sold": 0.0}


def _product(org, category: str, price: int, kwh: str | None) -> Product:
    return Product.objects.create(
        organization=org,
        sku=f"SKU-{category}",
        name=category.title(),
        category=category,
        capacity_kwh=Decimal(kwh) if kwh else None,
        unit_price_cents=price,
    )


def _item(org, the_order, product, quantity, unit, kwh="0") -> OrderItem:
    return OrderItem.objects.create(
        organization=org,
        order=the_order,
        product=product,
        quantity=quantity,
        unit_price_cents=unit,
        kwh=Decimal(kwh),
    )


@pytest.fixture
def sales(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    battery = _product(org, "battery", 500_000, "10.00")
    inverter = _product(org, "inverter", 250_000, None)
    accessory = _product(org, "accessory", 15_000, None)
    o1 = order(org, local(2026, 11, 3, 10), 1_250_000)
    _item(org, o1, battery, 2, 500_000, "20.00")
    _item(org, o1, inverter, 1, 250_000)
    o2 = order(org, local(2026, 11, 4, 10), 1_025_000, status="fulfilled")
    _item(org, o2, battery, 1, 500_000, "10.00")
    _item(org, o2, battery, 1, 480_000, "10.00")
    _item(org, o2, accessory, 3, 15_000)
    o3 = order(org, local(2026, 11, 5, 10), 520_000)
    _item(org, o3, inverter, 2, 250_000)
    o4 = order(org, local(2026, 11, 6, 10), 500_000, status="draft")
    _item(org, o4, battery, 1, 500_000, "10.00")
    o5 = order(org, local(2026, 11, 7, 10), 300_000)
    return {"o1": o1, "o2": o2, "o3": o3, "o5": o5, "accessory": accessory}


def values(org, mode: str, category: str | None = None) -> dict:
    state = parse_state({**NOV, **({"category": category} if category else {})}, org)
    where = Slice.of(None, {"product_category": (category,)} if category else None)
    return {k: v for k, (v, _) in compute_values(org, state, KEYS, mode=mode, where=where).items()}


@pytest.mark.parametrize("mode", ["live", "hybrid"])
def test_category_values_equal_the_hand_computed_lines(org, sales, mode):
    if mode == "hybrid":
        call_command("refresh_daily_summaries", stdout=io.StringIO())
    assert values(org, mode) == UNFILTERED
    assert values(org, mode, "battery") == BATTERY
    assert values(org, mode, "inverter") == INVERTER
    assert values(org, mode, "accessory") == ACCESSORY


def test_the_summary_reads_by_category(org, sales):
    """After a rebuild, whole past days come from daily_sales_items: its rows hold the split."""
    call_command("refresh_daily_summaries", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT day, product_category, revenue_cents, orders, kwh_sold FROM daily_sales_items"
            " WHERE organization_id = %s ORDER BY day, product_category NULLS LAST",
            [org.pk],
        )
        rows = [(str(d), c, r, n, float(k)) for d, c, r, n, k in cursor.fetchall()]
    assert rows == [
        ("2026-11-03", "battery", 1_000_000, 1, 20.0),
        ("2026-11-03", "inverter", 250_000, 1, 0.0),
        ("2026-11-04", "accessory", 45_000, 1, 0.0),
        ("2026-11-04", "battery", 980_000, 1, 20.0),
        ("2026-11-05", "inverter", 500_000, 1, 0.0),
        ("2026-11-05", None, 20_000, 1, 0.0),
        ("2026-11-07", None, 300_000, 1, 0.0),
    ]


def test_the_breakdown_by_category_adds_up_to_the_total(org, sales):
    state = parse_state(NOV, org)
    rows = {
        r["key"]: (r["value"], r["records"])
        for r in get_breakdown(org, state, "revenue", "product_category")
    }
    assert rows == {
        "battery": (1_980_000, 2),
        "inverter": (750_000, 2),
        "accessory": (45_000, 1),
        None: (320_000, 2),
    }
    assert sum(value for value, _ in rows.values()) == UNFILTERED["revenue"]
    aov = {
        r["key"]: r["value"]
        for r in get_breakdown(org, state, "average_order_value", "product_category")
    }
    assert aov["battery"] == 990_000 and aov["inverter"] == 375_000


def test_the_api_filters_revenue_orders_aov_and_kwh_by_category(client, owner, sales):
    client.force_login(owner)
    body = client.get(
        "/api/dashboard/metrics", {**NOV, "category": "battery", "metrics": ",".join(KEYS)}
    ).json()
    assert {k: body["metrics"][k]["value"] for k in KEYS} == BATTERY
    assert body["filters"] == {"category": "battery"}
    assert "not_filtered_by" not in body["metrics"]["revenue"]
    # A metric with no product category still says so.
    body = client.get(
        "/api/dashboard/metrics", {**NOV, "category": "battery", "metrics": "kwh_deployed"}
    ).json()
    assert body["metrics"]["kwh_deployed"]["value"] is None
    assert body["metrics"]["kwh_deployed"]["not_filtered_by"] == ["category"]
    series = client.get(
        "/api/dashboard/timeseries",
        {**NOV, "category": "battery", "metric": "revenue", "interval": "day"},
    ).json()
    by_day = {p["date"]: p["value"] for p in series["points"] if p["value"]}
    assert by_day == {"2026-11-03": 1_000_000, "2026-11-04": 980_000}


def test_the_card_shows_the_category_figure(client, owner, sales):
    client.force_login(owner)
    layout, _own = layouts.get_layout(owner)
    revenue = next(w for w in layout if w["type"] == "kpi" and w["settings"]["metric"] == "revenue")
    html = client.get(
        f"/dashboard/widgets/{revenue['id']}/", {**NOV, "category": "battery"}
    ).content.decode()
    assert 'data-value="1980000"' in html
    assert "cannot be filtered" not in html
    assert "category=battery" in html  # its drill link keeps the filter


def test_the_drill_total_equals_the_card_to_the_cent(client, owner, sales):
    client.force_login(owner)
    response = client.get("/dashboard/drill/revenue/", {**NOV, "category": "battery"})
    assert response.status_code == 200
    summary = response.context["summary"]
    assert (summary.value, summary.count) == (1_980_000, 2)
    listed = response.context["page_obj"].object_list
    assert sorted(o.number for o in listed) == sorted([sales["o1"].number, sales["o2"].number])
    assert sum(o.counted_revenue_cents for o in listed) == 1_980_000
    html = response.content.decode()
    assert "Battery, Inverter" in html  # O1's categories
    export = client.get(
        "/dashboard/drill/revenue/", {**NOV, "category": "battery", "format": "csv"}
    )
    text = b"".join(export.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(r["Total (cents)"]) for r in rows) == 1_980_000
    assert sum(Decimal(r["kWh"]) for r in rows) == 40
    # Unfiltered, each order's row is its whole total, as before.
    response = client.get("/dashboard/drill/revenue/", NOV)
    listed = response.context["page_obj"].object_list
    assert sum(o.counted_revenue_cents for o in listed) == 3_095_000
    assert {o.number: o.counted_revenue_cents for o in listed}[sales["o3"].number] == 520_000


def test_the_records_of_a_category_are_its_orders(org, sales):
    state = parse_state(NOV, org)
    rows = metric_records(
        org,
        "orders",
        state.range.start_at,
        state.range.end_at,
        filters={"product_category": ("inverter",)},
    )
    assert sorted(rows.values_list("number", flat=True)) == sorted(
        [sales["o1"].number, sales["o3"].number]
    )


def test_an_order_item_write_marks_both_summaries_and_the_refresh_follows(
    org, sales, django_capture_on_commit_callbacks
):
    call_command("refresh_daily_summaries", stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        _item(org, sales["o1"], sales["accessory"], 2, 15_000)
        sales["o1"].total_cents += 30_000
        sales["o1"].save()
    marked = set(DirtyDay.objects.filter(organization=org).values_list("summary", "day").distinct())
    day = local(2026, 11, 3).date()
    assert {("daily_sales", day), ("daily_sales_items", day)} <= marked
    # Before the refresh the dirty day is read live; after it, from the summary: the same.
    accessory = {**ACCESSORY, "revenue": 75_000, "orders": 2, "average_order_value": 37_500}
    assert values(org, "hybrid", "accessory") == accessory
    assert values(org, "hybrid")["revenue"] == 3_125_000
    refresh_changes("daily_sales")
    refresh_changes("daily_sales_items")
    refresh_changes("daily_ledger")  # the ledger's view reads the sales events (it follows them)
    assert not DirtyDay.objects.filter(organization=org).exists()
    assert values(org, "hybrid", "accessory") == accessory
    assert values(org, "hybrid", "battery") == BATTERY
    assert values(org, "hybrid")["revenue"] == 3_125_000


def test_get_metrics_with_a_category_filter_is_cached_apart(org, sales):
    state = parse_state(NOV, org)
    whole = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"]
    battery = get_metrics(org, state, ["revenue"], filters={"product_category": ("battery",)})[
        "metrics"
    ]["revenue"]["value"]
    assert (whole, battery) == (3_095_000, 1_980_000)


def test_the_sales_by_category_chart_shows_the_hand_computed_split(org, sales):
    state = parse_state(NOV, org)
    data = build_sales_by_category(WidgetContext(org, None, state, {}))
    bars = data["figure"]["data"][0]
    assert bars["x"] == ["Battery", "Inverter", "Accessory", "No category"]
    assert bars["y"] == [19_800.0, 7_500.0, 450.0, 3_200.0]  # dollars
    rows = {r["label"]: r["cells"][1:3] for r in data["table"]["rows"]}
    assert rows == {
        "Battery": ["2", "$9,900"],
        "Inverter": ["2", "$3,750"],
        "Accessory": ["1", "$450"],
        "No category": ["2", "$1,600"],
    }
    assert "category=battery" in bars["customdata"][0][0]  # a bar drills to its orders


def test_moving_a_product_to_another_category_moves_its_orders_days(
    org, sales, django_capture_on_commit_callbacks
):
    """The accessory (O2's 3 x 15,000 on 4 November) becomes an inverter: inverter revenue
    750,000 + 45,000 = 795,000 over 3 orders; the summary's day is redone."""
    call_command("refresh_daily_summaries", stdout=io.StringIO())
    assert values(org, "hybrid", "inverter")["revenue"] == 750_000  # summary rows cached
    with django_capture_on_commit_callbacks(execute=True):
        sales["accessory"].name = "Renamed"
        sales["accessory"].save()  # no category change: nothing moves
    assert not DirtyDay.objects.filter(organization=org).exists()
    with django_capture_on_commit_callbacks(execute=True):
        sales["accessory"].category = "inverter"
        sales["accessory"].save()
    day = local(2026, 11, 4).date()
    assert set(DirtyDay.objects.values_list("summary", "day")) == {
        ("daily_sales", day),
        ("daily_sales_items", day),
        ("daily_ledger", day),  # the ledger follows the sales events (docs/architecture.md)
    }
    moved = {"revenue": 795_000, "orders": 3, "average_order_value": 265_000, "kwh_sold": 0.0}
    assert values(org, "hybrid", "inverter") == moved
    refresh_changes("daily_sales_items")
    assert values(org, "hybrid", "inverter") == moved
    assert values(org, "hybrid", "accessory")["revenue"] == 0
