"""The hybrid read path (daily summaries before the watermark, live after) equals a pure live
computation, whatever changes after the last refresh."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st

from metrics.definitions import METRICS
from metrics.engine import Slice
from metrics.models import DirtyDay, SummaryRefresh
from metrics.periods import COMPARISONS, PRESETS, parse_state
from metrics.queries import get_metrics_comparison, get_timeseries
from metrics.refresh import refresh_summaries
from operations.models import (
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    OrderItem,
    WarrantyClaim,
)
from tests.dashboard.factories import build_history

OPS = [
    "new_order",
    "backdated_order",
    "cancel_order",
    "win_opportunity",
    "lose_opportunity",
    "complete_job",
    "cancel_job",
    "resolve_claim",
    "archive_customer",
    "new_opportunity",
    "stale_watermark",
    "refresh",
    "refresh_changes",
]
HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def history(org):
    data = build_history(org, now=timezone.now(), seed=7, days=800)
    refresh_summaries()
    return data


def _nth(queryset, n):
    count = queryset.count()
    return queryset.order_by("pk")[n % count] if count else None


def apply(op: str, n: int, days_ago: int, org, history) -> None:
    now = timezone.now()
    at = now - dt.timedelta(days=days_ago, minutes=n % 1440)
    if op in ("new_order", "backdated_order"):
        at = now - dt.timedelta(minutes=n % 600) if op == "new_order" else at
        order = Order.objects.create(
            organization=org,
            customer=history["customers"][n % len(history["customers"])],
            number=f"P-{n}-{days_ago}-{Order.objects.count()}",
            status="confirmed",
            ordered_at=at,
            created_at=at,
            total_cents=2_400_000,
        )
        OrderItem.objects.create(
            organization=org,
            order=order,
            product=history["battery"],
            quantity=2,
            unit_price_cents=1_200_000,
            kwh=Decimal("20.00"),
        )
    elif op == "cancel_order":
        order = _nth(
            Order.objects.filter(organization=org, status__in=["confirmed", "fulfilled"]), n
        )
        if order:
            order.status = "cancelled"
            order.save()
    elif op in ("win_opportunity", "lose_opportunity"):
        opp = _nth(Opportunity.objects.filter(organization=org, closed_at__isnull=True), n)
        if opp:
            opp.stage = "won" if op == "win_opportunity" else "lost"
            opp.closed_at = max(opp.created_at, at)
            opp.save()
    elif op == "new_opportunity":
        Opportunity.objects.create(
            organization=org,
            customer=history["customers"][0],
            name="New",
            stage="qualified",
            value_cents=n * 100,
            probability=25,
            created_at=at,
        )
    elif op in ("complete_job", "cancel_job"):
        job = _nth(
            InstallationJob.objects.filter(
                organization=org, status__in=["scheduled", "in_progress"]
            ),
            n,
        )
        if job:
            if op == "complete_job":
                job.status, job.completed_at = "completed", max(job.created_at, at)
            else:
                job.status, job.cancelled_at = "cancelled", max(job.created_at, at)
            job.save()
    elif op == "resolve_claim":
        claim = _nth(WarrantyClaim.objects.filter(organization=org, resolved_at__isnull=True), n)
        if claim:
            claim.status, claim.resolved_at = "resolved", max(claim.opened_at, at)
            claim.save()
    elif op == "archive_customer":
        customer = _nth(Customer.objects.filter(organization=org, archived_at__isnull=True), n)
        if customer:
            customer.archived_at = max(customer.created_at, at)
            customer.save()
    elif op == "stale_watermark":
        SummaryRefresh.objects.update(
            refreshed_at=F("refreshed_at") - dt.timedelta(days=days_ago % 40)
        )
    elif op == "refresh":
        refresh_summaries()
    elif op == "refresh_changes":
        refresh_summaries(incremental=True)


ranges = st.one_of(
    st.builds(lambda p: {"range": p}, st.sampled_from(list(PRESETS))),
    st.builds(
        lambda start, length: {
            "from": (timezone.localdate() - dt.timedelta(days=start)).isoformat(),
            "to": (
                timezone.localdate() - dt.timedelta(days=start) + dt.timedelta(days=length)
            ).isoformat(),
        },
        st.integers(0, 850),
        st.integers(0, 399),  # at most 400 days: a daily series allows 400 points
    ),
)
ops = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 10_000), st.integers(0, 700)), max_size=6
)


@HYPOTHESIS
@given(changes=ops, params=ranges, compare=st.sampled_from(list(COMPARISONS)))
def test_hybrid_metrics_equal_live(org, history, changes, params, compare):
    for op, n, days_ago in changes:
        apply(op, n, days_ago, org, history)
    state = parse_state({**params, "compare": compare}, org)
    keys = list(METRICS)
    assert get_metrics_comparison(org, state, keys) == get_metrics_comparison(
        org, state, keys, mode="live"
    )


SALES_KEYS = [k for k, m in METRICS.items() if m.source == "sales"]


@HYPOTHESIS
@given(
    changes=ops,
    params=ranges,
    compare=st.sampled_from(list(COMPARISONS)),
    category=st.sampled_from(["battery", "inverter", "accessory"]),
)
def test_hybrid_sales_by_category_equal_live(org, history, changes, params, compare, category):
    """The order-and-category grain (daily_sales_items) agrees with its event view too."""
    for op, n, days_ago in changes:
        apply(op, n, days_ago, org, history)
    state = parse_state({**params, "compare": compare}, org)
    where = Slice.of(None, {"product_category": (category,)})
    assert get_metrics_comparison(org, state, SALES_KEYS, where=where) == get_metrics_comparison(
        org, state, SALES_KEYS, mode="live", where=where
    )


@HYPOTHESIS
@given(
    changes=ops,
    params=ranges,
    compare=st.sampled_from(list(COMPARISONS)),
    metric=st.sampled_from(list(METRICS)),
    interval=st.sampled_from(["day", "week", "month"]),
)
def test_hybrid_timeseries_equal_live(org, history, changes, params, compare, metric, interval):
    for op, n, days_ago in changes:
        apply(op, n, days_ago, org, history)
    state = parse_state({**params, "compare": compare}, org)
    hybrid = get_timeseries(org, state, metric, interval, use_cache=False)
    live = get_timeseries(org, state, metric, interval, mode="live")
    assert hybrid["points"] == live["points"]


def test_backdated_change_is_read_live_until_refresh(org, history):
    """A cancellation of an old order shows at once, through a dirty-day marker."""
    old = (
        Order.objects.filter(organization=org, status__in=["confirmed", "fulfilled"])
        .order_by("ordered_at")
        .first()
    )
    day = timezone.localtime(old.ordered_at, org.tz).date()
    state = parse_state({"from": day.isoformat(), "to": day.isoformat(), "compare": "none"}, org)
    before = get_metrics_comparison(org, state, ["revenue"])["revenue"]["value"]
    old.status = "cancelled"
    old.save()
    assert DirtyDay.objects.filter(organization=org, summary="daily_sales", day=day).exists()
    after = get_metrics_comparison(org, state, ["revenue"])["revenue"]["value"]
    assert after == before - old.total_cents
    refresh_summaries(["daily_sales"])
    assert not DirtyDay.objects.filter(summary="daily_sales").exists()
    assert get_metrics_comparison(org, state, ["revenue"])["revenue"]["value"] == after


def test_daily_summaries_answer_for_days_before_the_watermark(org, history):
    """After a refresh, old days come from the daily summary: deleting base rows behind its back
    (no signals) leaves the hybrid figure unchanged while the live one drops."""
    state = parse_state({"range": "last_financial_year", "compare": "none"}, org)
    hybrid_before = get_metrics_comparison(org, state, ["revenue"])["revenue"]["value"]
    Order.objects.filter(organization=org, ordered_at__lt=state.range.end_at).update(status="draft")
    assert get_metrics_comparison(org, state, ["revenue"])["revenue"]["value"] == hybrid_before
    assert get_metrics_comparison(org, state, ["revenue"], mode="live")["revenue"]["value"] == 0
