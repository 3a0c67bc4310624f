"""Closed days are cached in blocks apart from the open tail: a write to today keeps cached
history, a back-dated write drops only the blocks holding its day, and any interleaving of
writes, refreshes and cached reads returns exactly the live answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given, strategies as st

from metrics import cache as metric_cache
from metrics.definitions import METRICS
from metrics.engine import history_blocks
from metrics.periods import COMPARISONS, parse_state
from metrics.queries import get_metrics, get_metrics_comparison, get_timeseries
from operations.models import Order
from tests.dashboard.test_hybrid_property import HYPOTHESIS, OPS, apply, history, ranges

__all__ = ["history"]  # the fixture, shared with the hybrid property tests

D = dt.date


def test_blocks_are_years_months_and_part_months():
    assert history_blocks(D(2024, 11, 15), D(2026, 3, 10)) == [
        (D(2024, 11, 15), D(2024, 12, 1)),
        (D(2024, 12, 1), D(2025, 1, 1)),
        (D(2025, 1, 1), D(2026, 1, 1)),
        (D(2026, 1, 1), D(2026, 2, 1)),
        (D(2026, 2, 1), D(2026, 3, 1)),
        (D(2026, 3, 1), D(2026, 3, 10)),
    ]
    # Since ever: one block for everything before twelve years back, then whole years.
    assert history_blocks(None, D(2026, 2, 1)) == [
        (None, D(2014, 1, 1)),
        *[(D(y, 1, 1), D(y + 1, 1, 1)) for y in range(2014, 2026)],
        (D(2026, 1, 1), D(2026, 2, 1)),
    ]
    assert history_blocks(D(2026, 3, 1), D(2026, 3, 1)) == []


def _order(org, history, at, cents=1_000_000):
    return Order.objects.create(
        organization=org,
        customer=history["customers"][0],
        number=f"HC-{Order.objects.count()}",
        status="confirmed",
        ordered_at=at,
        created_at=at,
        total_cents=cents,
    )


def _history_counts():
    stats = metric_cache.cache_stats()
    return stats["history_hits"], stats["history_misses"]


def test_write_to_today_keeps_cached_history(org, history, django_capture_on_commit_callbacks):
    state = parse_state({"range": "last_90_days", "compare": "previous_period"}, org)
    before = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]
    hits, misses = _history_counts()
    assert misses > 0 and hits == 0  # the first read computes its blocks
    with django_capture_on_commit_callbacks(execute=True):
        _order(org, history, timezone.now() - dt.timedelta(minutes=5), cents=1_234_500)
    after = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]
    assert after["value"] == before["value"] + 1_234_500
    assert after["previous"] == before["previous"]
    hits2, misses2 = _history_counts()
    assert misses2 == misses  # no history block recomputed
    assert hits2 == misses  # every block of the first read served from the cache


def test_backdated_write_drops_only_its_block(org, history, django_capture_on_commit_callbacks):
    today = timezone.localdate(timezone=org.tz)
    first = (today.replace(day=1) - dt.timedelta(days=100)).replace(day=1)
    months = [first]
    for _ in range(2):
        months.append((months[-1] + dt.timedelta(days=32)).replace(day=1))
    last = (months[-1] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    state = parse_state({"from": first.isoformat(), "to": last.isoformat(), "compare": "none"}, org)
    before = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"]
    hits, misses = _history_counts()
    assert (hits, misses) == (0, 3)  # three whole-month blocks
    middle = dt.datetime.combine(months[1] + dt.timedelta(days=9), dt.time(11), tzinfo=org.tz)
    with django_capture_on_commit_callbacks(execute=True):
        _order(org, history, middle, cents=777_700)
    after = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"]
    assert after == before + 777_700
    assert _history_counts() == (2, 4)  # the other two months were hits; one recomputed
    live = get_metrics_comparison(org, state, ["revenue"], mode="live")["revenue"]["value"]
    assert after == live


def _reads(org, params, compare, metric, interval):
    state = parse_state({**params, "compare": compare}, org)
    keys = list(METRICS)
    cached = get_metrics(org, state, keys)["metrics"]
    live = get_metrics_comparison(org, state, keys, mode="live")
    for key in keys:
        assert {k: cached[key][k] for k in live[key]} == live[key], key
    try:
        series = get_timeseries(org, state, metric, interval)
    except ValueError:  # a daily series over too long a range is refused either way
        return
    assert series["points"] == get_timeseries(org, state, metric, interval, mode="live")["points"]


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"), st.sampled_from(OPS), st.integers(0, 10_000), st.integers(0, 700)
        ),
        st.tuples(
            st.just("read"),
            ranges,
            st.sampled_from(list(COMPARISONS)),
            st.sampled_from(list(METRICS)),
            st.sampled_from(["day", "week", "month"]),
        ),
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.django_db
@HYPOTHESIS
@given(steps=steps)
def test_cached_reads_equal_live_whatever_the_interleaving(
    org, history, steps, django_capture_on_commit_callbacks
):
    for step in steps:
        if step[0] == "write":
            _, op, n, days_ago = step
            with django_capture_on_commit_callbacks(execute=True):
                apply(op, n, days_ago, org, history)
        else:
            _reads(org, *step[1:])


@pytest.mark.parametrize("daily", [False, True])
def test_many_whole_day_parts_in_one_scan_equal_one_read_each(org, history, daily):
    """The closed-day blocks of an owner slice are read live in one range scan; each part
    gets exactly what a read of that part alone gets."""
    from accounts.models import Role
    from metrics.definitions import SOURCES
    from metrics.engine import WHOLE, Frame, Slice, _read_live
    from metrics.periods import local_midnight
    from operations.models import Opportunity
    from tests.conftest import make_user

    tz = org.tz
    today = timezone.localdate(timezone=tz)

    def at(days_ago: int):
        return local_midnight(today - dt.timedelta(days=days_ago), tz)

    parts = [(0, None, at(400)), (1, at(90), at(0)), (2, at(30), at(0)), (0, at(200), at(0))]
    owner = make_user(org, Role.SALES)
    mine = Opportunity.objects.filter(organization=org).order_by("pk")[::3]
    Opportunity.objects.filter(pk__in=[o.pk for o in mine]).update(owner=owner)
    for source_name, where in (
        ("pipeline", WHOLE),
        ("pipeline", Slice.of(owner.pk)),
        ("jobs", WHOLE),
        ("sales", WHOLE),
    ):
        source = SOURCES[source_name]
        together = Frame(source, 3)
        _read_live(org.pk, tz, source, parts, daily, together, where)
        apart = Frame(source, 3)
        for part in parts:
            _read_live(org.pk, tz, source, [part], daily, apart, where)
        assert [dict(w) for w in together.data] == [dict(w) for w in apart.data], source_name
        assert all(together.data), source_name  # every part has rows to compare


def test_a_custom_ranges_edges_are_cut_from_the_warmed_months(
    org, django_capture_on_commit_callbacks
):
    """A part of a closed month is served from that month's cached daily block (warmed by
    metrics.warming.warm_months), never read from the database, with the same numbers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.warming import warm_months
    from operations.models import Customer

    customer = Customer.objects.create(organization=org, name="E", kind="commercial", state="SA")
    month = (timezone.localdate(timezone=org.tz).replace(day=1) - dt.timedelta(days=40)).replace(
        day=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        for day, cents in ((3, 100_00), (10, 200_00), (14, 50_00), (20, 400_00)):
            at = dt.datetime.combine(month.replace(day=day), dt.time(11), tzinfo=org.tz)
            Order.objects.create(
                organization=org,
                customer=customer,
                number=f"E-{day}",
                status="confirmed",
                ordered_at=at,
                created_at=at,
                total_cents=cents,
            )
    params = {
        "from": month.replace(day=5).isoformat(),
        "to": month.replace(day=15).isoformat(),
        "compare": "none",
    }
    state = parse_state(params, org)
    # Not warmed: the edge is read from the database.
    assert get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"] == 250_00
    assert _history_counts() == (0, 1)
    metric_cache.bump_data_version(org.pk)
    metric_cache.reset_stats()
    warm_months(org, months=3)
    metric_cache.reset_stats()
    with CaptureQueriesContext(connection) as queries:
        revenue = get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"]
    assert revenue == 250_00  # days 10 and 14: $200 + $50
    assert _history_counts() == (1, 0)  # served from the month's block
    assert not [q for q in queries.captured_queries if "sales" in q["sql"]]
    # Another range's edges in the same month: cut from it too.
    other = parse_state({**params, "from": month.replace(day=2).isoformat()}, org)
    assert get_metrics(org, other, ["revenue"])["metrics"]["revenue"]["value"] == 350_00
    assert _history_counts() == (2, 0)
    live = get_metrics_comparison(org, other, ["revenue"], mode="live")["revenue"]["value"]
    assert live == 350_00
