"""Write-path jobs: refreshes, debounced refresh on writes, warming and nightly statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts.models import Organization
from metrics import cache as metric_cache
from metrics.definitions import METRICS
from metrics.models import DirtyDay, SummaryRefresh, UserStatisticsDaily
from metrics.periods import parse_state
from metrics.queries import get_metrics
from metrics.refresh import rebuild_summary, refresh_changes, refresh_summaries
from metrics.statistics import compute_user_statistics
from metrics.warming import warm_organization
from operations.models import Activity, Customer, InstallationJob, Opportunity, Order
from renoz.celery import BEAT_SCHEDULE
from tests.conftest import make_user
from tests.dashboard.factories import build_history

pytestmark = pytest.mark.django_db


def _summary(view: str, org) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {view} WHERE organization_id = %s ORDER BY 2, 3",  # noqa: S608
            [org.pk],
        )
        return cursor.fetchall()


def test_never_built_summary_is_rebuilt_whole(org):
    SummaryRefresh.objects.filter(summary="daily_activities").delete()
    result = refresh_changes("daily_activities")
    assert result["mode"] == "full"
    assert SummaryRefresh.objects.get(summary="daily_activities").refreshed_at <= timezone.now()


def test_incremental_refresh_redoes_only_the_dirty_organisation_days(org):
    other = Organization.objects.create(name="Other Pty Ltd", timezone="Australia/Perth")
    tz = org.tz
    day = timezone.localdate(timezone=tz) - dt.timedelta(days=3)
    at = dt.datetime.combine(day, dt.time(10), tzinfo=tz)
    mine = [Activity(organization=org, kind="call", occurred_at=at) for _ in range(2)]
    theirs = Activity(organization=other, kind="email", occurred_at=at)
    Activity.objects.bulk_create([*mine, theirs])  # no signals: no markers
    refresh_summaries(["daily_activities"])  # the full rebuild sees them
    assert _summary("daily_activities", org) == [(org.pk, day, "call", 2)]
    assert _summary("daily_activities", other) == [(other.pk, day, "email", 1)]
    # A write through the ORM marks its day; a change behind the ORM's back marks nothing.
    Activity.objects.create(organization=org, kind="call", occurred_at=at)
    Activity.objects.create(organization=org, kind="meeting", occurred_at=at)
    Activity.objects.filter(pk=theirs.pk).update(kind="call")
    assert DirtyDay.objects.filter(organization=org, summary="daily_activities").count() == 2
    (result,) = refresh_summaries(["daily_activities"], incremental=True)
    assert (result["mode"], result["organizations"], result["days"]) == ("incremental", 1, 1)
    assert _summary("daily_activities", org) == [
        (org.pk, day, "call", 3),
        (org.pk, day, "meeting", 1),
    ]
    # The other organisation had no marker, so its rows were not touched.
    assert _summary("daily_activities", other) == [(other.pk, day, "email", 1)]
    assert not DirtyDay.objects.filter(summary="daily_activities").exists()
    (again,) = refresh_summaries(["daily_activities"], incremental=True)
    assert (again["organizations"], again["days"]) == (0, 0)


def test_refresh_rejects_unknown_summary_tables():
    with pytest.raises(ValueError, match="Unknown summary table"):
        rebuild_summary("pg_authid; DROP TABLE x")


def test_beat_schedule_refreshes_every_summary_table_at_its_cadence():
    by_view = {
        view: entry["schedule"]
        for entry in BEAT_SCHEDULE.values()
        for arg in entry.get("args", ())
        for view in arg
    }
    # Every daily summary is refreshed, and nothing else is (docs/architecture.md, "Write path").
    assert set(by_view) == {
        "daily_sales",
        "daily_sales_items",
        "daily_pipeline",
        "daily_jobs",
        "daily_warranty",
        "daily_customers",
        "daily_activities",
        "daily_ledger",
    }
    quarter_hourly = {0, 15, 30, 45}
    for view in ("daily_sales", "daily_sales_items", "daily_pipeline", "daily_jobs"):
        assert by_view[view].minute == quarter_hourly
    assert len(by_view["daily_warranty"].minute) == 1  # hourly
    assert len(by_view["daily_ledger"].minute) == 1  # hourly, as Xero syncs
    tasks = {e["task"] for e in BEAT_SCHEDULE.values()}
    assert "xero.tasks.sync_xero_organizations" in tasks
    tasks = {e["task"] for e in BEAT_SCHEDULE.values()}
    assert "metrics.tasks.nightly_user_statistics" in tasks
    assert "dashboard.tasks.nightly_warm_cache" in tasks
    assert "dashboard.tasks.purge_expired_exports" in tasks


def test_a_write_queues_one_debounced_refresh(org, django_capture_on_commit_callbacks, monkeypatch):
    from metrics import tasks

    queued = []
    monkeypatch.setattr(
        tasks.refresh_summaries,
        "apply_async",
        lambda args, countdown, **_options: queued.append((args, countdown)),
    )
    customer = Customer.objects.create(organization=org, name="A", kind="commercial", state="VIC")
    with (
        override_settings(DASHBOARD_REFRESH_ON_WRITE=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        for i in range(5):
            Order.objects.create(
                organization=org,
                customer=customer,
                number=f"D-{i}",
                status="confirmed",
                ordered_at=timezone.now(),
                total_cents=100,
            )
    views = [v for args, _ in queued for v in args[0]]
    assert views.count("daily_sales") == 1  # five writes, one refresh
    assert all(countdown == tasks.DEBOUNCE_SECONDS for _, countdown in queued)


def test_a_write_bumps_the_organisation_data_version(org, django_capture_on_commit_callbacks):
    before = metric_cache.data_version(org.pk)
    sales_before = metric_cache.data_version(org.pk, ["sales"])
    customer = Customer.objects.create(organization=org, name="A", kind="commercial", state="VIC")
    with django_capture_on_commit_callbacks(execute=True):
        customer.archived_at = timezone.now()
        customer.save()
    assert metric_cache.data_version(org.pk) != before
    assert metric_cache.data_version(org.pk, ["customers"]) != metric_cache.data_version(
        org.pk, ["sales"]
    )
    assert metric_cache.data_version(org.pk, ["sales"]) == sales_before  # revenue stays cached


def test_warming_fills_the_cache_for_common_presets(org):
    build_history(org, now=timezone.now(), seed=11)
    refresh_summaries()
    entries = warm_organization(
        org, presets=("this_month", "last_30_days"), compares=("previous_period",)
    )
    assert entries == 2 * (1 + 5)
    metric_cache.reset_stats()
    state = parse_state({"range": "this_month", "compare": "previous_period"}, org)
    get_metrics(org, state, list(METRICS))
    stats = metric_cache.cache_stats()
    assert (stats["hits"], stats["misses"], stats["hit_rate"]) == (1, 0, 1.0)


def test_nightly_user_statistics_match_the_records(org):
    tz = org.tz
    rep = make_user(org, "sales", "rep@renoz.test")
    tech = make_user(org, "technician", "tech@renoz.test")
    day = dt.date(2026, 3, 10)
    at = dt.datetime(2026, 3, 10, 23, 30, tzinfo=tz)  # late local evening: 12:30 UTC same day
    customer = Customer.objects.create(
        organization=org, name="C", kind="commercial", state="NSW", created_at=at
    )
    won = Opportunity.objects.create(
        organization=org,
        customer=customer,
        owner=rep,
        name="W",
        stage="won",
        value_cents=5_000_000,
        probability=100,
        created_at=at,
        closed_at=at,
    )
    Opportunity.objects.create(
        organization=org,
        customer=customer,
        owner=rep,
        name="L",
        stage="lost",
        value_cents=1,
        probability=0,
        created_at=at,
        closed_at=at,
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        opportunity=won,
        number="S1",
        status="fulfilled",
        ordered_at=at,
        total_cents=5_000_000,
    )
    Order.objects.create(
        organization=org,
        customer=customer,
        opportunity=won,
        number="S2",
        status="cancelled",
        ordered_at=at,
        total_cents=9_999,
    )
    InstallationJob.objects.create(
        organization=org,
        order=order,
        customer=customer,
        technician=tech,
        status="completed",
        scheduled_for=at,
        completed_at=at,
        kwh=Decimal("13.50"),
        labor_hours=Decimal("7.25"),
    )
    for _ in range(3):
        Activity.objects.create(organization=org, user=rep, kind="call", occurred_at=at)
    Activity.objects.create(
        organization=org, user=rep, kind="call", occurred_at=at + dt.timedelta(hours=1)
    )

    written = compute_user_statistics(org, day, day)
    assert written == 2  # one row per user
    rep_row = UserStatisticsDaily.objects.get(user=rep, date=day)
    assert (
        rep_row.revenue_cents,
        rep_row.orders,
        rep_row.quotes_won,
        rep_row.quotes_lost,
        rep_row.activities,
    ) == (5_000_000, 1, 1, 1, 3)
    tech_row = UserStatisticsDaily.objects.get(user=tech, date=day)
    assert (tech_row.jobs_completed, tech_row.kwh_installed, tech_row.labor_hours) == (
        1,
        Decimal("13.50"),
        Decimal("7.25"),
    )
    # Idempotent: a second run rewrites, never duplicates.
    compute_user_statistics(org, day, day)
    assert UserStatisticsDaily.objects.filter(date=day).count() == 2


def test_a_refresh_rewarms_what_writes_dropped_for_an_organisation_being_read(
    org, django_capture_on_commit_callbacks
):
    from dashboard.layouts import default_widgets
    from dashboard.tasks import rewarm_after_refresh
    from metrics.tasks import summaries_refreshed
    from presentation.widgets import peek_widget

    revenue = next(
        w for w in default_widgets("executive") if w["settings"].get("metric") == "revenue"
    )
    state = parse_state({"range": "this_month", "compare": "previous_period"}, org)
    customer = Customer.objects.create(organization=org, name="A", kind="commercial", state="VIC")

    def order(number: str, cents: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            Order.objects.create(
                organization=org,
                customer=customer,
                number=number,
                status="confirmed",
                ordered_at=timezone.now(),
                total_cents=cents,
            )

    order("R-1", 250_000)
    rewarm_after_refresh(org.pk)  # nobody has read this organisation's dashboards
    assert peek_widget(revenue, org, state) is None

    metric_cache.note_readers(org.pk)
    assert metric_cache.readers_recent(org.pk)
    rewarm_after_refresh(org.pk)
    assert peek_widget(revenue, org, state)["entry"]["value"] == 250_000  # $2,500

    order("R-2", 100_000)
    assert peek_widget(revenue, org, state) is None  # the write dropped it
    # The refresh's signal queues the re-warm (run eagerly in tests).
    summaries_refreshed.send(sender=None, organization_ids=[org.pk])
    assert peek_widget(revenue, org, state)["entry"]["value"] == 350_000  # $2,500 + $1,000
