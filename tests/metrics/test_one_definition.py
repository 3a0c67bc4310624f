"""A metric's meaning is written once: change it in one place and every path follows.

Revenue counts confirmed and fulfilled orders. Its definition is the `metric_events_sales`
view in metrics/sql/events/sales.sql, and nothing else spells those statuses. This test
rewrites that one statement in the file's text (to count fulfilled orders only), applies the
files as a migration does (metrics.sql.apply_event_views), and checks that the live read, the
daily summary, the time series, the drill-down list and its total, the owner slice, the
nightly per-user statistics and a personal target's actual all follow.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Role
from metrics.definitions import SOURCES
from metrics.models import UserStatisticsDaily
from metrics.periods import parse_state
from metrics.queries import compute_values, get_metrics, get_timeseries, metric_records
from metrics.sql import apply_event_views, event_sql, view_statement
from targets.models import Target
from targets.queries import targets_for_state
from tests.conftest import make_user
from tests.targets.helpers import local, order

pytestmark = pytest.mark.django_db

NOW = local(2026, 11, 20, 12)


def sales_view_sql() -> str:
    """The one statement that defines revenue's rows, in the metric layer's SQL file."""
    return view_statement("sales", "metric_events_sales")


def test_revenue_statuses_are_spelled_in_one_place_only():
    spelled = []
    for path in Path(__file__).resolve().parents[2].glob("[!.]*/**/*.py"):
        if "tests" in path.parts or "migrations" in path.parts or ".venv" in path.parts:
            continue
        if re.search(r"""['"]confirmed['"],\s*['"]fulfilled['"]""", path.read_text()):
            spelled.append(str(path))
    assert spelled == []
    assert "o.status IN ('confirmed', 'fulfilled')" in sales_view_sql()


def test_changing_the_definition_moves_every_path(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    rep = make_user(org, Role.SALES, "rep@renoz.test")
    order(org, local(2026, 11, 3, 10), 10_000, status="confirmed", owner=rep)
    order(org, local(2026, 11, 4, 10), 25_000, status="fulfilled", owner=rep)
    order(org, local(2026, 11, 5, 10), 99_999, status="draft", owner=rep)
    Target.objects.create(
        organization=org,
        metric="revenue",
        period_kind="month",
        period_start=dt.date(2026, 11, 1),
        value=50_000,
        user=rep,
    )
    state = parse_state({"from": "2026-11-01", "to": "2026-11-15", "compare": "none"}, org)

    def every_path() -> dict:
        call_command("refresh_daily_summaries", stdout=io.StringIO())  # bumps every cache
        call_command("backfill_user_statistics", days=30, org=org.pk, stdout=io.StringIO())
        rows = metric_records(org, "revenue", state.range.start_at, state.range.end_at)
        series = get_timeseries(org, state, "revenue", "day")
        stats = UserStatisticsDaily.objects.filter(user=rep, date__lte=dt.date(2026, 11, 15))
        return {
            "hybrid": get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"],
            "live": compute_values(org, state, ["revenue"], mode="live")["revenue"][0],
            "series": sum(p["value"] for p in series["points"]),
            "drill rows": rows.count(),
            "owner slice": get_metrics(org, state, ["revenue"], owner=rep.pk)["metrics"]["revenue"][
                "value"
            ],
            "nightly": sum(s.revenue_cents for s in stats),
            "personal target": targets_for_state(org, state, ["revenue"], user=rep)["revenue"][
                "actual"
            ],
        }

    # Confirmed 100.00 + fulfilled 250.00; the draft never counts.
    assert every_path() == {
        "hybrid": 35_000,
        "live": 35_000,
        "series": 35_000,
        "drill rows": 2,
        "owner slice": 35_000,
        "nightly": 35_000,
        "personal target": 35_000,
    }

    # The one-place change: revenue counts fulfilled orders only.
    # The file's text, edited and applied as the migration applies the files (the test's
    # transaction rolls the views back).
    changed = event_sql("sales").replace(
        "o.status IN ('confirmed', 'fulfilled')", "o.status IN ('fulfilled')"
    )
    with connection.cursor() as cursor:
        cursor.execute(apply_event_views({"sales": changed}))

    after = every_path()
    assert after == {
        "hybrid": 25_000,
        "live": 25_000,
        "series": 25_000,
        "drill rows": 1,
        "owner slice": 25_000,
        "nightly": 25_000,
        "personal target": 25_000,
    }
    assert SOURCES["sales"].events == "metric_events_sales"
