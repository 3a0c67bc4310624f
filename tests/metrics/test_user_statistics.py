"""The nightly per-user table is a cache of the metric layer's owner slice: equal to it for
every user and day, idempotent, caught up after missed nights, and kept up to date by writes."""

from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from metrics.engine import Slice
from metrics.models import UserStatisticsDaily, UserStatisticsProgress
from metrics.periods import local_midnight, parse_state
from metrics.queries import compute_values
from metrics.statistics import (
    COLUMNS,
    compute_due_user_statistics,
    compute_user_statistics,
    last_computed_day,
)
from operations.models import Customer, InstallationJob, Order
from tests.conftest import make_user
from tests.dashboard.factories import build_history

# Sydney's clocks went forward at 2 AM on 4 Oct 2026 (a 23-hour day).
DST_DAY = dt.date(2026, 10, 4)


@pytest.fixture
def team(org):
    rep = make_user(org, "sales", "rep@renoz.test")
    tech = make_user(org, "technician", "tech@renoz.test")
    now = local_midnight(DST_DAY + dt.timedelta(days=20), org.tz)
    build_history(org, seed=7, days=60, now=now, technician=tech)
    return {"rep": rep, "tech": tech, "admin": make_user(org, "admin", "boss@renoz.test")}


def _live(org, user_id, day):
    state = parse_state({"from": str(day), "to": str(day), "compare": "none"}, org)
    values = compute_values(org, state, list(COLUMNS), mode="live", where=Slice.of(owner=user_id))
    return {key: value for key, (value, _previous) in values.items()}


def _stored(row):
    out = {key: getattr(row, column) for key, column in COLUMNS.items()}
    out["kwh_deployed"] = float(out["kwh_deployed"])
    out["labor_hours"] = float(out["labor_hours"])
    return out


def test_the_table_equals_the_live_owner_slice_for_every_user_and_day_across_dst(org, team):
    rnd = random.Random(12)
    first = DST_DAY - dt.timedelta(days=rnd.randint(3, 9))
    last = DST_DAY + dt.timedelta(days=rnd.randint(2, 8))
    compute_user_statistics(org, first, last)
    rows = UserStatisticsDaily.objects.filter(organization=org, date__range=(first, last))
    assert rows.count() == 3 * ((last - first).days + 1)
    checked_nonzero = 0
    for row in rows:
        expected = _live(org, row.user_id, row.date)
        assert _stored(row) == expected, (row.user_id, row.date)
        checked_nonzero += any(expected.values())
    assert checked_nonzero > 0  # the random history does put numbers in the range


def test_a_rerun_changes_nothing(org, team):
    first, last = DST_DAY - dt.timedelta(days=3), DST_DAY + dt.timedelta(days=3)
    assert compute_user_statistics(org, first, last) == 3 * 7
    before = list(UserStatisticsDaily.objects.order_by("pk").values())
    assert compute_user_statistics(org, first, last) == 0
    assert list(UserStatisticsDaily.objects.order_by("pk").values()) == before


def test_missed_nights_are_filled_on_the_next_run(org, team):
    UserStatisticsProgress.objects.create(organization=org, last_day=dt.date(2026, 10, 20))
    # The worker was down for three nights; it comes back at 1:30 AM on 24 Oct.
    now = dt.datetime(2026, 10, 24, 1, 30, tzinfo=org.tz)
    compute_due_user_statistics(now=now)
    days = set(UserStatisticsDaily.objects.values_list("date", flat=True))
    assert days == {dt.date(2026, 10, 21), dt.date(2026, 10, 22), dt.date(2026, 10, 23)}
    assert last_computed_day(org) == dt.date(2026, 10, 23)
    # Before 1 AM the day just ended is not due yet; at 1 AM nothing is owed twice.
    assert compute_due_user_statistics(now=now + dt.timedelta(hours=5)) == 0


def test_before_the_statistics_hour_the_day_just_ended_waits(org, team):
    UserStatisticsProgress.objects.create(organization=org, last_day=dt.date(2026, 10, 21))
    compute_due_user_statistics(now=dt.datetime(2026, 10, 24, 0, 30, tzinfo=org.tz))
    days = set(UserStatisticsDaily.objects.values_list("date", flat=True))
    assert days == {dt.date(2026, 10, 22)}


def test_backfill_from_to_one_user_is_resumable(org, team):
    out = io.StringIO()
    call_command(
        "backfill_user_statistics",
        "--from=2026-09-01",
        "--to=2026-09-30",
        f"--user={team['tech'].pk}",
        "--no-progress",
        stdout=out,
    )
    rows = UserStatisticsDaily.objects.all()
    assert set(rows.values_list("user_id", flat=True)) == {team["tech"].pk}
    assert rows.count() == 30
    out = io.StringIO()
    call_command(
        "backfill_user_statistics",
        "--from=2026-09-01",
        "--to=2026-09-30",
        f"--user={team['tech'].pk}",
        "--resume",
        "--no-progress",
        stdout=out,
    )
    assert "0 rows written, 1 step(s) already complete" in out.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["--from=2026-13-01", "--to=2026-09-30"],
        ["--days=0"],
        ["--from=2026-09-02", "--to=2026-09-01"],
    ],
)
def test_backfill_refuses_bad_input(org, args):
    with pytest.raises(CommandError):
        call_command("backfill_user_statistics", *args, "--no-progress", stdout=io.StringIO())


def test_a_write_to_a_computed_day_recomputes_it(org, team, django_capture_on_commit_callbacks):
    day = DST_DAY - dt.timedelta(days=1)
    compute_user_statistics(org, day - dt.timedelta(days=2), day)
    UserStatisticsProgress.objects.create(organization=org, last_day=day)
    tech = team["tech"]
    before = UserStatisticsDaily.objects.get(user=tech, date=day)
    customer = Customer.objects.create(
        organization=org, name="Late", kind="commercial", state="NSW"
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number="LATE-1",
        status="fulfilled",
        ordered_at=local_midnight(day, org.tz) + dt.timedelta(hours=9),
        total_cents=100,
    )
    done_at = local_midnight(day, org.tz) + dt.timedelta(hours=15)
    with django_capture_on_commit_callbacks(execute=True):
        InstallationJob.objects.create(
            organization=org,
            order=order,
            customer=customer,
            technician=tech,
            status="completed",
            scheduled_for=done_at,
            started_at=done_at,
            completed_at=done_at,
            created_at=done_at - dt.timedelta(days=30),
            kwh=Decimal("12.50"),
            labor_hours=Decimal("6.00"),
        )
    after = UserStatisticsDaily.objects.get(user=tech, date=day)
    assert after.jobs_completed == before.jobs_completed + 1
    assert after.kwh_installed == before.kwh_installed + Decimal("12.50")
    assert _stored(after) == _live(org, tech.pk, day)
