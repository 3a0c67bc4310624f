"""The charts' engine reads made with the page's first read (metrics.engine.expect and
read_sources, issue 25): one round trip for the cards' and the charts' closed-day blocks and
open tails, one statement for the tails they lack, the same numbers; and none made for a
chart whose payload the page found cached. Frame totals by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from metrics import cache as metric_cache
from metrics.definitions import SOURCES
from metrics.engine import Frame
from metrics.periods import parse_state
from metrics.queries import (
    compute_values,
    get_breakdown,
    get_timeseries,
    plan_breakdown,
    plan_timeseries,
)
from tests.dashboard.factories import build_history

pytestmark = pytest.mark.django_db
CARDS = ["revenue", "orders", "pipeline_value", "jobs_completed", "warranty_claims"]


@pytest.fixture
def history(org):
    from metrics.refresh import refresh_summaries

    build_history(org, now=timezone.now(), seed=11, days=150)
    refresh_summaries()


def _charts(org, state) -> list:
    """What the page's charts read: the revenue trend, pipeline by stage, sales by category."""
    return [
        get_timeseries(org, state, "revenue", "day"),
        get_breakdown(org, state, "pipeline_value", "stage"),
        get_breakdown(org, state, "revenue", "product_category"),
        get_breakdown(org, state, "kwh_sold", "product_category"),
    ]


def _plans(org, state) -> list:
    return [
        plan_timeseries(org, state, "revenue", "day"),
        plan_breakdown(org, state, "pipeline_value", "stage"),
        *(plan_breakdown(org, state, k, "product_category") for k in ("revenue", "kwh_sold")),
    ]


def _page(org, state, monkeypatch, charts: bool = True) -> tuple[dict, list, list, list]:
    """A page's pass: its payloads planned and prefetched, the cards, then the charts (or the
    cards alone); (the cards' values, the charts' payloads, each get_blocks' keys, the
    statements)."""
    lookups: list[list[str]] = []
    real = metric_cache.get_blocks
    monkeypatch.setattr(
        metric_cache,
        "get_blocks",
        lambda keys, counted=True, also=(): (
            lookups.append([*keys, *also]) or real(keys, counted=counted, also=also)
        ),
    )
    with CaptureQueriesContext(connection) as sql, metric_cache.page_pass(org.pk):
        metric_cache.prefetch(_plans(org, state) if charts else [])
        cards = compute_values(org, state, CARDS)
        payloads = _charts(org, state) if charts else []
    monkeypatch.setattr(metric_cache, "get_blocks", real)
    return cards, payloads, lookups, [q["sql"] for q in sql.captured_queries]


def _without_payloads(charts: list) -> list:
    """The charts' numbers, without the envelope's clock."""
    return [
        [{k: v for k, v in p.items() if k != "as_of"} for p in c["points"]]
        if isinstance(c, dict)
        else c
        for c in charts
    ]


@pytest.mark.parametrize("compare", ["previous_period", "previous_year"])
def test_the_charts_reads_ride_with_the_cards(org, history, monkeypatch, compare):
    state = parse_state({"range": "this_month", "compare": compare}, org)
    reference_cards = compute_values(org, state, CARDS)  # outside any cache: the database
    reference = _without_payloads(_charts(org, state))
    _page(org, state, monkeypatch)  # the closed-day blocks cached
    today = timezone.localdate(timezone=org.tz)
    for source in metric_cache.SOURCES:
        metric_cache.note_write(org.pk, source, {today}, today)  # every value dropped

    cards, charts, lookups, sql = _page(org, state, monkeypatch)

    assert cards == reference_cards
    assert _without_payloads(charts) == reference
    # One round trip for every block and tail of the cards and the charts; the tails missing
    # (the cards' sources and sales by category's grain) in one statement.
    assert len(lookups) == 1
    assert len(sql) == 1 and "metric_events_sales_items" in sql[0], sql


def test_a_chart_found_cached_is_not_read_ahead(org, history, monkeypatch):
    state = parse_state({"range": "this_month", "compare": "previous_period"}, org)
    _page(org, state, monkeypatch)
    today = timezone.localdate(timezone=org.tz)
    metric_cache.note_write(org.pk, "jobs", {today}, today)  # the charts' payloads survive
    _cards, _none, (cards_only,), _sql = _page(org, state, monkeypatch, charts=False)
    metric_cache.note_write(org.pk, "jobs", {today}, today)

    _cards, charts, lookups, sql = _page(org, state, monkeypatch)

    # The cards' blocks and tails alone: the charts' payloads came from the cache.
    assert [len(keys) for keys in lookups] == [len(cards_only)]
    assert len(sql) == 1 and "metric_events_jobs" in sql[0], sql
    assert len(charts) == 4


def test_frame_totals_by_hand():
    sales = SOURCES["sales"]
    measures = sales.measures
    frame = Frame(sales, 1, ("product_category",))
    row = [0] * len(measures)
    first = list(row)
    first[0] = 100
    second = list(row)
    second[0] = Decimal("2.50")
    frame.add(0, (None, "battery"), first)
    frame.add(0, (None, "inverter"), second)
    frame.add(0, (None, "battery"), first)
    m = measures[0]
    assert frame.total(0, m) == Decimal("202.50")
    assert frame.total(0, m, product_category="battery") == 200
    assert frame.total(0, m, product_category=("battery", "inverter")) == Decimal("202.50")
    groups = frame.group(0, lambda key: key[1])
    assert {name: group.total(0, m) for name, group in groups.items()} == {
        "battery": 200,
        "inverter": Decimal("2.50"),
    }


def test_a_read_of_fewer_windows_takes_them_from_an_earlier_frame(org, history, monkeypatch):
    from metrics.engine import TimeWindow, read

    state = parse_state({"range": "this_month", "compare": "previous_year"}, org)
    pipeline = SOURCES["pipeline"]
    since_ever = [TimeWindow(None, state.range.end_at), TimeWindow(None, state.comparison.end_at)]
    every = [TimeWindow(state.range.start_at, state.range.end_at), *since_ever]
    alone = read(org.pk, org.tz, pipeline, since_ever, by=("stage",))  # no cache: the database
    lookups = []
    real = metric_cache.get_blocks
    monkeypatch.setattr(
        metric_cache, "get_blocks", lambda *a, **kw: lookups.append(kw) or real(*a, **kw)
    )
    with metric_cache.page_pass(org.pk):
        read(org.pk, org.tz, pipeline, every)  # the cards' windows (stage: a summary dimension)
        taken = read(org.pk, org.tz, pipeline, since_ever, by=("stage",))
    # The first read's blocks and tail (its part-month's cut aside); the second, nothing.
    assert len([kw for kw in lookups if kw.get("counted", True)]) == 1
    for idx in (0, 1):
        assert taken.by_dim(idx, "opened_count", "stage") == alone.by_dim(
            idx, "opened_count", "stage"
        )
        assert taken.total(idx, "opened_value") == alone.total(idx, "opened_value")
