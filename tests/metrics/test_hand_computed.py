"""Every metric against a number worked out by hand from the rows in tests/metrics/handbook.py.

Only stable interfaces are used: the JSON API (docs/architecture.md, "JSON API"), the drill-down
CSV export, the `refresh_daily_summaries` and `backfill_user_statistics` commands and the nightly
table. Each API test runs twice: on the live path (daily summaries never refreshed) and on the
summary path (`views`: summaries refreshed "now", at the frozen clock, so every whole day before
today comes from the daily summaries).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from metrics.models import SummaryRefresh, UserStatisticsDaily
from metrics.periods import parse_state
from metrics.queries import get_breakdown, get_metrics, metric_records
from operations.models import Activity, Order
from tests.metrics import handbook as hb

pytestmark = pytest.mark.django_db

OCTOBER_RANGE = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture
def book(org, other_org, time_machine) -> hb.Handbook:
    time_machine.move_to(hb.AFTER_EVERYTHING, tick=False)
    return hb.build(org, other_org)


@pytest.fixture(params=["live", "views"])
def path(request) -> str:
    return request.param


@pytest.fixture
def boss(client, book):
    client.force_login(book.users[hb.BOSS])
    return client


def settle(path: str) -> None:
    """Leave the daily summaries unrefreshed (live), or refresh them now (views)."""
    if path == "views":
        call_command("refresh_daily_summaries", stdout=io.StringIO())
        # Tricky: the refresh stamps its watermark with the database's own now(), the real
        # wall clock, not the frozen one. Pin it to the frozen "now" so the summaries answer for
        # the days before today and today is read live, as after a refresh at this instant.
        SummaryRefresh.objects.update(refreshed_at=timezone.now())


def get_json(client, url: str, path: str, params: dict) -> dict:
    """GET a JSON endpoint and check it took the path under test: views read or not."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    read_views = any("FROM daily_" in q["sql"] for q in queries.captured_queries)
    assert read_views == (path == "views"), f"expected the {path} path"
    return response.json()


def metrics(client, path: str, keys, **params) -> dict:
    return get_json(client, "/api/dashboard/metrics", path, {**params, "metrics": ",".join(keys)})


def series(client, path: str, **params) -> list[tuple[str, object]]:
    body = get_json(client, "/api/dashboard/timeseries", path, params)
    return [(p["date"], p["value"]) for p in body["points"]]


def _exact(got, expected):
    """The API's kWh and hours are floats; compare them as the decimals they stand for."""
    if isinstance(expected, Decimal) and got is not None:
        return Decimal(str(got))
    return got


def values(body: dict, expected: dict) -> dict:
    return {k: _exact(body["metrics"][k]["value"], expected[k]) for k in expected}


def previous(body: dict, expected: dict) -> dict:
    """{metric: (previous, change_pct)} from the response, shaped like the handbook."""
    return {
        k: (_exact(body["metrics"][k]["previous"], e[0]), body["metrics"][k]["change_pct"])
        for k, e in expected.items()
    }


# --- The handbook's own premises --------------------------------------------------------------


def test_handbook_instants_fall_where_its_comments_say(book):
    """Not the app: the fixture's DST instants are stored as the UTC instants intended."""
    utc = dt.UTC
    first, second = (Order.objects.get(number=n).ordered_at for n in ("O20", "O21"))
    assert second - first == dt.timedelta(hours=1)  # the two 02:30s of 5 Apr
    assert first.astimezone(utc) == dt.datetime(2026, 4, 4, 15, 30, tzinfo=utc)
    assert Order.objects.get(number="O23").ordered_at.astimezone(utc).date() == dt.date(2026, 4, 4)
    assert Activity.objects.get(subject="A03").occurred_at.astimezone(utc) == dt.datetime(
        2026, 10, 3, 15, tzinfo=utc
    )
    assert hb.local(2026, 10, 5).astimezone(utc) - hb.local(2026, 10, 4).astimezone(
        utc
    ) == dt.timedelta(hours=23)
    assert hb.local(2026, 4, 6).astimezone(utc) - hb.local(2026, 4, 5).astimezone(
        utc
    ) == dt.timedelta(hours=25)


# --- A finished month, and its comparisons -----------------------------------------------------


def test_every_metric_over_october_matches_the_hand_computed_value(boss, path):
    settle(path)
    body = metrics(boss, path, hb.ALL_METRICS, compare="none", **OCTOBER_RANGE)
    assert body["range"] == {"from": "2026-10-01", "to": "2026-10-31", "to_date": False}
    assert body["comparison"] is None
    assert set(body["metrics"]) == set(hb.ALL_METRICS)
    assert values(body, hb.OCTOBER) == hb.OCTOBER


def test_previous_period_is_the_31_days_before_with_hand_computed_change(boss, path):
    settle(path)
    body = metrics(boss, path, hb.ALL_METRICS, compare="previous_period", **OCTOBER_RANGE)
    assert body["comparison"] == {
        "kind": "previous_period",
        "from": "2026-08-31",
        "to": "2026-09-30",
    }
    assert values(body, hb.OCTOBER) == hb.OCTOBER
    assert previous(body, hb.OCTOBER_VS_PREVIOUS_PERIOD) == hb.OCTOBER_VS_PREVIOUS_PERIOD
    revenue = body["metrics"]["revenue"]
    assert (revenue["change"], revenue["trend"], revenue["good"]) == (-180_001, "down", False)
    lost = body["metrics"]["quotes_lost"]
    assert (lost["change"], lost["trend"], lost["good"]) == (1, "up", False)  # up is bad
    rate = body["metrics"]["quote_win_rate"]
    assert (rate["change"], rate["trend"], rate["good"]) == (0.1, "up", True)
    kwh = body["metrics"]["kwh_deployed"]
    assert Decimal(str(kwh["change"])) == Decimal("13.61")  # 43.60 - 29.99


def test_previous_year_is_october_2025_with_hand_computed_change(boss, path):
    settle(path)
    body = metrics(boss, path, hb.ALL_METRICS, compare="previous_year", **OCTOBER_RANGE)
    assert body["comparison"] == {"kind": "previous_year", "from": "2025-10-01", "to": "2025-10-31"}
    assert values(body, hb.OCTOBER) == hb.OCTOBER
    assert previous(body, hb.OCTOBER_VS_PREVIOUS_YEAR) == hb.OCTOBER_VS_PREVIOUS_YEAR
    assert body["metrics"]["revenue"]["change"] == 729_999  # 5_229_999 - 4_500_000


# --- Daylight saving days ---------------------------------------------------------------------


def test_the_23_hour_day_counts_rows_either_side_of_the_clock_change(boss, path):
    settle(path)
    body = metrics(
        boss, path, hb.DST_OCTOBER_DAY, compare="none", **{"from": "2026-10-04", "to": "2026-10-04"}
    )
    assert values(body, hb.DST_OCTOBER_DAY) == hb.DST_OCTOBER_DAY


def test_the_25_hour_day_counts_both_half_past_twos(boss, path):
    settle(path)
    body = metrics(
        boss,
        path,
        hb.DST_APRIL_DAY,
        compare="previous_period",
        **{"from": "2026-04-05", "to": "2026-04-05"},
    )
    assert body["comparison"]["from"] == body["comparison"]["to"] == "2026-04-04"
    assert values(body, hb.DST_APRIL_DAY) == hb.DST_APRIL_DAY
    assert previous(body, hb.DST_APRIL_VS_PREVIOUS_DAY) == hb.DST_APRIL_VS_PREVIOUS_DAY


# --- A range that ends mid-day ----------------------------------------------------------------


def test_month_to_date_at_half_past_one_ignores_everything_later(boss, path, time_machine):
    time_machine.move_to(hb.MIDDAY, tick=False)
    settle(path)
    body = metrics(boss, path, hb.ALL_METRICS, range="this_month", compare="previous_period")
    assert body["range"] == {"from": "2026-10-01", "to": "2026-10-31", "to_date": True}
    assert body["comparison"] == {
        "kind": "previous_period",
        "from": "2026-09-01",
        "to": "2026-09-15",
    }
    assert values(body, hb.MONTH_TO_DATE) == hb.MONTH_TO_DATE
    assert previous(body, hb.MONTH_TO_DATE_VS_PREVIOUS) == hb.MONTH_TO_DATE_VS_PREVIOUS


def test_today_at_half_past_one_is_to_date_and_ignores_the_afternoon(boss, path, time_machine):
    time_machine.move_to(hb.MIDDAY, tick=False)
    settle(path)
    body = metrics(boss, path, hb.ALL_METRICS, range="today", compare="previous_period")
    assert body["range"] == {"from": "2026-10-15", "to": "2026-10-15", "to_date": True}
    assert body["comparison"] == {
        "kind": "previous_period",
        "from": "2026-10-14",
        "to": "2026-10-14",
    }
    assert values(body, hb.TODAY_TO_DATE) == hb.TODAY_TO_DATE


# --- Time series ----------------------------------------------------------------------------


def test_daily_activities_bucket_by_sydney_day_across_the_23_hour_day(boss, path):
    settle(path)
    points = series(
        boss,
        path,
        metric="activities",
        interval="day",
        compare="none",
        **{"from": "2026-10-01", "to": "2026-10-07"},
    )
    assert points == hb.ACTIVITIES_BY_DAY_EARLY_OCTOBER


def test_daily_revenue_buckets_by_sydney_day_across_the_25_hour_day(boss, path):
    settle(path)
    points = series(
        boss,
        path,
        metric="revenue",
        interval="day",
        compare="none",
        **{"from": "2026-04-04", "to": "2026-04-06"},
    )
    assert points == hb.REVENUE_BY_DAY_EARLY_APRIL


def test_weekly_revenue_adds_up_to_the_month(boss, path):
    settle(path)
    points = series(boss, path, metric="revenue", interval="week", compare="none", **OCTOBER_RANGE)
    assert points == hb.REVENUE_BY_WEEK_OCTOBER


def test_customer_count_series_reads_each_day_at_its_next_midnight(boss, path):
    settle(path)
    points = series(
        boss,
        path,
        metric="customer_count",
        interval="day",
        compare="none",
        **{"from": "2026-09-29", "to": "2026-10-02"},
    )
    assert points == hb.CUSTOMERS_AT_END_OF_DAY


def test_timeseries_marks_the_running_bucket_partial(boss, time_machine):
    time_machine.move_to(hb.MIDDAY, tick=False)
    body = boss.get(
        "/api/dashboard/timeseries",
        {"metric": "activities", "interval": "day", "range": "this_month", "compare": "none"},
    ).json()
    points = body["points"]
    assert points[-1]["date"] == "2026-10-15"
    assert [p["partial"] for p in points] == [False] * 14 + [True]


# --- Drill-down: the records behind the numbers ------------------------------------------------


def drill_csv(client, metric: str, **params) -> list[dict[str, str]]:
    response = client.get(f"/dashboard/drill/{metric}/?" + urlencode({**params, "format": "csv"}))
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(body, newline="")))


def _column(rows: list[dict[str, str]], label: str) -> Decimal:
    return sum((Decimal(row[label]) for row in rows), Decimal(0))


def test_drill_csv_has_one_row_per_record_counted(boss, path):
    settle(path)
    body = metrics(boss, path, hb.OCTOBER_DRILL_ROWS, compare="none", **OCTOBER_RANGE)
    for metric, expected_rows in hb.OCTOBER_DRILL_ROWS.items():
        rows = drill_csv(boss, metric, compare="none", **OCTOBER_RANGE)
        assert len(rows) == expected_rows, metric
        if body["metrics"][metric]["unit"] == "count":
            assert body["metrics"][metric]["value"] == len(rows), metric


def test_drill_csv_adds_up_to_the_money_energy_and_hours(boss):
    orders = drill_csv(boss, "revenue", compare="none", **OCTOBER_RANGE)
    assert sorted(row["Order"] for row in orders) == ["O01", "O03", "O04", "O07", "O13", "O14"]
    assert _column(orders, "Total (cents)") == 5_229_999
    jobs = drill_csv(boss, "kwh_deployed", compare="none", **OCTOBER_RANGE)
    assert _column(jobs, "kWh") == Decimal("43.60")
    assert _column(jobs, "Labour hours") == Decimal("15.75")
    pipeline = drill_csv(boss, "pipeline_value", compare="none", **OCTOBER_RANGE)
    assert _column(pipeline, "Value (cents)") == 17_833_333


def test_drill_weighted_column_adds_up_to_the_weighted_pipeline(boss):
    rows = drill_csv(boss, "weighted_pipeline", compare="none", **OCTOBER_RANGE)
    by_name = {row["Opportunity"]: Decimal(row["Weighted (cents)"]) for row in rows}
    assert by_name["P03 quoted"] == Decimal("1099999.89")  # 3_333_333 × 33 / 100
    # Σ value × probability / 100 = 1_154_999_989 / 100 = 11_549_999.89, which rounds to the KPI
    total = _column(rows, "Weighted (cents)")
    assert total == Decimal("11549999.89")
    assert total.quantize(Decimal(1), rounding=ROUND_HALF_UP) == hb.OCTOBER["weighted_pipeline"]


@pytest.mark.parametrize("email", [hb.TIA, hb.TOM])
def test_a_technicians_drill_lists_exactly_their_owner_slice(client, book, email):
    client.force_login(book.users[email])
    expected = hb.EXPECTED_OWNER_SLICES[email]
    jobs = drill_csv(client, "jobs_completed", compare="none", **OCTOBER_RANGE)
    assert len(jobs) == expected["jobs_completed"]
    assert _column(jobs, "kWh") == expected["kwh_deployed"]
    assert _column(jobs, "Labour hours") == expected["labor_hours"]
    active = drill_csv(client, "active_installations", compare="none", **OCTOBER_RANGE)
    assert len(active) == expected["active_installations"]


# --- Tenancy ----------------------------------------------------------------------------------


def test_the_outsider_sees_only_its_own_october(client, book, path):
    settle(path)
    client.force_login(book.users[hb.OUTSIDER])
    body = metrics(
        client,
        path,
        ["revenue", "orders", "quotes_won", "pipeline_value", "kwh_deployed", "activities"],
        compare="none",
        **OCTOBER_RANGE,
    )
    assert body["timezone"] == "Australia/Perth"
    assert values(
        body,
        {
            "revenue": 0,
            "orders": 0,
            "quotes_won": 0,
            "pipeline_value": 0,
            "kwh_deployed": Decimal(0),
            "activities": 0,
        },
    ) == {
        "revenue": 123_457_344,  # 123_456_789 + 555 (10 Oct and 4 Oct, Perth time)
        "orders": 2,
        "quotes_won": 1,
        "pipeline_value": 88_000_000,  # "X open", still open at 1 Nov 00:00 AWST
        "kwh_deployed": Decimal("99.00"),
        "activities": 1,
    }


# --- Nightly per-user statistics: today's owner slice ---------------------------------------


def _stats_rows(org, day: dt.date) -> dict[str, dict[str, object]]:
    rows = UserStatisticsDaily.objects.filter(organization=org, date=day).select_related("user")
    return {row.user.email: {c: getattr(row, c) for c in hb.STAT_COLUMNS} for row in rows}


def test_nightly_user_statistics_match_the_hand_computed_rows(book):
    call_command("backfill_user_statistics", days=240, org=book.org.pk, stdout=io.StringIO())
    for day, per_user in hb.USER_STATISTICS.items():
        expected = {
            email: {c: per_user.get(email, {}).get(c, 0) for c in hb.STAT_COLUMNS}
            for email in hb.USERS
        }
        assert _stats_rows(book.org, day) == expected, day
    assert not UserStatisticsDaily.objects.filter(user=book.users[hb.OUTSIDER]).exists()


def test_nightly_statistics_summed_over_october_equal_the_owner_slices(book):
    call_command("backfill_user_statistics", days=240, org=book.org.pk, stdout=io.StringIO())
    october = UserStatisticsDaily.objects.filter(
        organization=book.org, date__gte=dt.date(2026, 10, 1), date__lte=dt.date(2026, 10, 31)
    )
    assert october.count() == 31 * len(hb.USERS)
    for email in hb.USERS:
        sums = october.filter(user=book.users[email]).aggregate(
            **{c: Sum(c) for c in hb.OWNER_SLICE_STAT_COLUMNS}
        )
        got = {metric: sums[c] for c, metric in hb.OWNER_SLICE_STAT_COLUMNS.items()}
        expected = {m: hb.EXPECTED_OWNER_SLICES[email][m] for m in got}
        assert got == expected, email


# --- The metric layer's owner slices and breakdowns -------------------------------------------


def _october(org):
    return parse_state({**OCTOBER_RANGE, "compare": "none"}, org)


@pytest.mark.parametrize("email", list(hb.EXPECTED_OWNER_SLICES))
def test_every_owner_slice_matches_the_hand_computed_value(book, path, email):
    settle(path)
    expected = hb.EXPECTED_OWNER_SLICES[email]
    payload = get_metrics(book.org, _october(book.org), list(expected), owner=book.users[email].pk)
    got = {k: _exact(payload["metrics"][k]["value"], v) for k, v in expected.items()}
    assert got == expected


def test_a_breakdown_by_owner_gives_each_persons_slice(book, path):
    settle(path)
    by_id = {user.pk: email for email, user in book.users.items()}
    for metric in ("revenue", "quotes_won", "activities", "pipeline_value", "kwh_deployed"):
        rows = get_breakdown(book.org, _october(book.org), metric, "owner", use_cache=False)
        got = {by_id[r["key"]]: _exact(r["value"], Decimal(0)) for r in rows if r["key"]}
        expected = {
            email: slices[metric]
            for email, slices in hb.EXPECTED_OWNER_SLICES.items()
            if slices[metric]
        }
        assert {k: v for k, v in got.items() if v} == expected, metric


def test_a_metric_without_owners_has_no_personal_value(book):
    payload = get_metrics(
        book.org,
        _october(book.org),
        ["warranty_claims", "customer_count"],
        owner=book.users[hb.AVA].pk,
    )
    assert payload["metrics"]["warranty_claims"]["value"] is None
    assert payload["metrics"]["customer_count"]["value"] is None


# --- quotes_won_value: the value of quotes won, by close date ------------------------------------
# October 2026 closed won: P06 6_000_000 (Ava, 00:00 1 Oct), P07 2_345_678 (Ben, 01:30 4 Oct)
# and P17 1_234_567 (Ava, 10:00 15 Oct); P08 closes at T (1 Nov 00:00), outside.
# 6_000_000 + 2_345_678 + 1_234_567 = 9_580_245. October 2025: P13 10_000_000 (Ben).
# Change: (9_580_245 - 10_000_000) / 10_000_000 = -4.19755 % -> -4.2.
QUOTES_WON_VALUE_OCTOBER = 9_580_245


def test_quotes_won_value_over_october_matches_the_hand_computed_sum(boss, path):
    settle(path)
    body = metrics(boss, path, ["quotes_won_value"], compare="previous_year", **OCTOBER_RANGE)
    entry = body["metrics"]["quotes_won_value"]
    assert (entry["value"], entry["unit"]) == (QUOTES_WON_VALUE_OCTOBER, "aud_cents")
    assert (entry["previous"], entry["change_pct"]) == (10_000_000, -4.2)


def test_quotes_won_value_per_owner_and_its_records(book, path):
    settle(path)
    state = _october(book.org)
    slices = {
        email: get_metrics(book.org, state, ["quotes_won_value"], owner=book.users[email].pk)[
            "metrics"
        ]["quotes_won_value"]["value"]
        for email in (hb.AVA, hb.BEN)
    }
    assert slices == {hb.AVA: 6_000_000 + 1_234_567, hb.BEN: 2_345_678}
    records = metric_records(book.org, "quotes_won_value", state.range.start_at, state.range.end_at)
    assert sorted(o.value_cents for o in records) == [1_234_567, 2_345_678, 6_000_000]


def test_a_sales_persons_day_of_quotes_won_value(client, book):
    # Ava's 15 Oct: P17 closed won at 10:00 for 1_234_567; the day before nothing closed.
    client.force_login(book.users[hb.AVA])
    body = client.get("/api/dashboard/me", {"date": "2026-10-15"}).json()
    entry = body["metrics"]["quotes_won_value"]
    assert (entry["value"], entry["yesterday"], entry["unit"]) == (1_234_567, 0, "aud_cents")
    # The same day from the nightly table: its stored row holds the value, and the page's
    # answer does not change.
    call_command("backfill_user_statistics", days=240, org=book.org.pk, stdout=io.StringIO())
    row = UserStatisticsDaily.objects.get(user=book.users[hb.AVA], date=dt.date(2026, 10, 15))
    assert row.quotes_won_value == 1_234_567
    stored = client.get("/api/dashboard/me", {"date": "2026-10-15"}).json()
    assert stored["metrics"]["quotes_won_value"]["value"] == 1_234_567
