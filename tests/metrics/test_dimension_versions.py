"""Per-dimension versions (issue 25, docs/architecture.md "Cache"): a write that moves only a
source's live dimensions (those no daily summary keeps) drops only the values that filter or
break down by them; a write that moves a number drops the source's values as before.

This month (today is 20 November 2026, noon in Sydney) has three orders, none today:
  A $1,000 confirmed on 3 Nov, an NSW customer;
  B $2,000 confirmed on 10 Nov, a QLD customer;
  C $4,000 fulfilled on 5 Nov, an NSW customer.
Revenue is $7,000 (700,000 cents): $3,000 confirmed and $4,000 fulfilled; $2,000 from QLD.
"""

from __future__ import annotations

import pytest

from metrics import cache as metric_cache
from metrics.models import DirtyDay
from metrics.periods import parse_state
from metrics.queries import get_breakdown, get_metrics
from metrics.refresh import refresh_summaries
from operations.models import Order
from tests.targets.helpers import customer, local

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 20, 12)


@pytest.fixture
def orders(org, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(NOW, tick=False)
    nsw, qld = customer(org), customer(org)
    qld.state = "QLD"
    qld.save()
    made = {}
    with django_capture_on_commit_callbacks(execute=True):
        for name, who, day, cents, status in (
            ("A", nsw, 3, 100_000, "confirmed"),
            ("B", qld, 10, 200_000, "confirmed"),
            ("C", nsw, 5, 400_000, "fulfilled"),
        ):
            made[name] = Order.objects.create(
                organization=org,
                customer=who,
                number=f"DV-{name}",
                status=status,
                ordered_at=local(2026, 11, day, 10),
                created_at=local(2026, 11, day, 10),
                total_cents=cents,
            )
    refresh_summaries()
    made["qld"] = qld
    return made


def _revenue(org, **filters) -> int:
    state = parse_state({"range": "this_month", "compare": "none"}, org)
    filters = {k: [v] for k, v in filters.items()} or None
    return get_metrics(org, state, ["revenue"], filters=filters)["metrics"]["revenue"]["value"]


def _by_status(org) -> dict:
    state = parse_state({"range": "this_month", "compare": "none"}, org)
    return {r["key"]: r["value"] for r in get_breakdown(org, state, "revenue", "status")}


def _lookups() -> tuple[int, int]:
    stats = metric_cache.cache_stats()
    return stats["hits"], stats["misses"]


def test_an_order_fulfilled_drops_only_what_slices_by_status(
    org, orders, django_capture_on_commit_callbacks
):
    assert _revenue(org) == 700_000
    assert _revenue(org, customer_state="QLD") == 200_000
    assert _by_status(org) == {"confirmed": 300_000, "fulfilled": 400_000}
    sales_days = DirtyDay.objects.filter(summary__in=["daily_sales", "daily_sales_items"])
    dirty = sales_days.count()

    with django_capture_on_commit_callbacks(execute=True):
        orders["A"].status = "fulfilled"
        orders["A"].save()

    # Its event rows differ only in `status`: no sales summary day is dirty (the ledger, which
    # reads the sales events, takes the whole change)...
    assert sales_days.count() == dirty
    hits, misses = _lookups()
    # ...the unsliced revenue and the QLD revenue are still cached (two hits, no miss)...
    assert _revenue(org) == 700_000
    assert _revenue(org, customer_state="QLD") == 200_000
    assert _lookups() == (hits + 2, misses)
    # ...and revenue by status, which slices by it, is recomputed: A moved across ($1,000),
    # through a closed day (3 Nov) of its cached history blocks too.
    assert _by_status(org) == {"confirmed": 200_000, "fulfilled": 500_000}
    assert _lookups() == (hits + 2, misses + 1)


def test_an_order_moved_to_a_qld_customer_drops_the_qld_number_only(
    org, orders, django_capture_on_commit_callbacks
):
    assert _revenue(org) == 700_000
    assert _revenue(org, customer_state="QLD") == 200_000
    assert _by_status(org) == {"confirmed": 300_000, "fulfilled": 400_000}

    with django_capture_on_commit_callbacks(execute=True):
        orders["C"].customer = orders["qld"]
        orders["C"].save()

    hits, misses = _lookups()
    assert _revenue(org) == 700_000
    assert _by_status(org) == {"confirmed": 300_000, "fulfilled": 400_000}
    assert _lookups() == (hits + 2, misses)
    assert _revenue(org, customer_state="QLD") == 600_000  # B $2,000 and C $4,000
    assert _lookups() == (hits + 2, misses + 1)


def test_an_order_cancelled_drops_the_sources_values(
    org, orders, django_capture_on_commit_callbacks
):
    assert _revenue(org) == 700_000
    assert _revenue(org, customer_state="QLD") == 200_000

    with django_capture_on_commit_callbacks(execute=True):
        orders["B"].status = "cancelled"
        orders["B"].save()

    # Its row left the events: a number moved, so every sales value goes, as before.
    assert DirtyDay.objects.filter(summary="daily_sales", day=local(2026, 11, 10).date()).exists()
    hits, misses = _lookups()
    assert _revenue(org) == 500_000
    assert _revenue(org, customer_state="QLD") == 0
    assert _lookups() == (hits, misses + 2)


def test_a_save_that_moves_nothing_drops_nothing(org, orders, django_capture_on_commit_callbacks):
    assert _revenue(org) == 700_000
    with django_capture_on_commit_callbacks(execute=True):
        orders["A"].number = "DV-A2"  # the events carry no order number
        orders["A"].save()
    hits, misses = _lookups()
    assert _revenue(org) == 700_000
    assert _lookups() == (hits + 1, misses)


def test_a_cold_read_of_a_source_is_one_statement_and_equals_the_live_one(
    org, orders, django_capture_on_commit_callbacks
):
    """The closed days from the summary and the open tail from the event view, in one
    statement (UNION ALL) when nothing is cached: A, B, C ($7,000) and a $500 order today."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.queries import get_metrics_comparison

    with django_capture_on_commit_callbacks(execute=True):
        Order.objects.create(
            organization=org,
            customer=orders["qld"],
            number="DV-TODAY",
            status="confirmed",
            ordered_at=local(2026, 11, 20, 11),
            created_at=local(2026, 11, 20, 11),
            total_cents=50_000,
        )
    metric_cache.bump_data_version(org.pk)  # cold: every value and closed-day block dropped
    state = parse_state({"range": "this_month", "compare": "none"}, org)
    with CaptureQueriesContext(connection) as sql:
        got = get_metrics(org, state, ["revenue", "orders"])["metrics"]
    sales = [q["sql"] for q in sql.captured_queries if "sales" in q["sql"]]
    assert len(sales) == 1
    assert "FROM daily_sales" in sales[0] and "FROM metric_events_sales" in sales[0]
    assert (got["revenue"]["value"], got["orders"]["value"]) == (750_000, 4)
    live = get_metrics_comparison(org, state, ["revenue", "orders"], mode="live")
    assert live["revenue"]["value"] == 750_000 and live["orders"]["value"] == 4
