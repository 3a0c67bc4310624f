"""A value that reads only closed days (last month, with its comparison) is keyed by the writes
that landed in its own days, not by its sources' versions: a write to today keeps it cached, a
back-dated write into its days drops it, and the cached answer always equals the live one
(issue 25, docs/architecture.md "Cache")."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from metrics import cache as metric_cache
from metrics.definitions import METRICS
from metrics.periods import parse_state
from metrics.queries import get_metrics, get_metrics_comparison
from operations.models import Order
from tests.dashboard.test_hybrid_property import history

__all__ = ["history"]  # the fixture

KEYS = ["revenue", "orders"]


def _order(org, history, at, cents):
    return Order.objects.create(
        organization=org,
        customer=history["customers"][0],
        number=f"CK-{Order.objects.count()}",
        status="confirmed",
        ordered_at=at,
        created_at=at,
        total_cents=cents,
    )


def _key(org, state):
    """get_metrics' key: its metrics' measures' totals (per-measure versions)."""
    parts = {part for key in KEYS for part in METRICS[key].value_parts(sliced=False)}
    return metric_cache.make_key(org.pk, "metrics:" + ",".join(sorted(KEYS)), state, parts)


def _midday(org, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=org.tz)


def test_last_month_survives_writes_after_it(org, history, django_capture_on_commit_callbacks):
    today = timezone.localdate(timezone=org.tz)
    state = parse_state({"range": "last_month", "compare": "previous_period"}, org)
    assert metric_cache.closed_end(state) == today.replace(day=1)
    before = get_metrics(org, state, KEYS)
    key = _key(org, state)
    with django_capture_on_commit_callbacks(execute=True):
        _order(org, history, timezone.now() - dt.timedelta(minutes=5), 1_000_000)
    assert _key(org, state) == key  # a write to today: same key, still cached
    if today.day > 1:  # a back-dated write after the range, this month: the same
        with django_capture_on_commit_callbacks(execute=True):
            _order(org, history, _midday(org, today.replace(day=1)), 2_000_000)
        assert _key(org, state) == key
    assert metric_cache.peek(key) == before


def test_a_backdated_write_into_last_month_drops_it(
    org, history, django_capture_on_commit_callbacks
):
    today = timezone.localdate(timezone=org.tz)
    state = parse_state({"range": "last_month", "compare": "previous_period"}, org)
    before = get_metrics(org, state, KEYS)["metrics"]["revenue"]
    key = _key(org, state)
    in_range = state.range.start + dt.timedelta(days=3)
    in_comparison = state.comparison.start + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        _order(org, history, _midday(org, in_range), 1_234_500)
    assert _key(org, state) != key
    after = get_metrics(org, state, KEYS)["metrics"]["revenue"]
    assert after["value"] == (before["value"] or 0) + 1_234_500
    assert after["previous"] == before["previous"]
    with django_capture_on_commit_callbacks(execute=True):
        _order(org, history, _midday(org, in_comparison), 700_000)
    again = get_metrics(org, state, KEYS)["metrics"]["revenue"]
    assert again["previous"] == (before["previous"] or 0) + 700_000
    live = get_metrics_comparison(org, state, KEYS, mode="live")
    assert again["value"] == live["revenue"]["value"]
    assert again["previous"] == live["revenue"]["previous"]
    assert today > state.range.end


def test_a_running_period_keeps_its_version_key(org, history):
    for preset in ("this_month", "today", "last_30_days"):
        state = parse_state({"range": preset, "compare": "previous_period"}, org)
        if state.range.end_at < timezone.now():
            continue  # last_30_days may end yesterday in some presets' definitions
        assert metric_cache.closed_end(state) is None
        assert ":c" not in (_key(org, state) or "")


def test_a_source_bump_drops_closed_values(org, history):
    """bump_data_version (bulk loads, repairs) drops closed values too."""
    state = parse_state({"range": "last_month", "compare": "previous_year"}, org)
    key = _key(org, state)
    metric_cache.bump_data_version(org.pk, ["sales"])
    assert _key(org, state) != key
    key = _key(org, state)
    metric_cache.bump_data_version(org.pk)
    assert _key(org, state) != key
