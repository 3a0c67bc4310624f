"""Progress against a target: actual, expected pace, forecast and status, on fixed dates.

Every expected number below is worked out by hand in the test's comments.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.periods import parse_state
from targets import queries
from targets.models import Target
from targets.queries import (
    AT_RISK_AT,
    MET_AT,
    ON_TRACK_AT,
    status_for,
    target_progress,
    targets_for_state,
)
from tests.targets.helpers import claim, closed_quote, local, order

D = dt.date
NOV_16 = local(2026, 11, 16)  # 15 of November's 30 days have passed: linear share 0.5
NOVEMBER = D(2026, 11, 1)


def set_target(org, metric="revenue", kind="month", start=NOVEMBER, value=10_000_000, **kw):
    return Target.objects.create(
        organization=org,
        metric=metric,
        period_kind=kind,
        period_start=start,
        value=Decimal(value),
        **kw,
    )


def state(org, **params):
    return parse_state({"compare": "none", **params}, org)


# --- Thresholds ------------------------------------------------------------------------------


def test_the_thresholds_are_the_documented_ones():
    assert (ON_TRACK_AT, AT_RISK_AT, MET_AT) == (0.98, 0.90, 1.00)
    assert "98 %" in queries.__doc__ and "90 %" in queries.__doc__
    assert status_for(0.98, finished=False) == "on_track"
    assert status_for(0.979, finished=False) == "at_risk"
    assert status_for(0.90, finished=False) == "at_risk"
    assert status_for(0.899, finished=False) == "behind"
    assert status_for(0.99, finished=True) == "missed"  # a finished period must be met
    assert status_for(1.0, finished=True) == "met"
    assert status_for(None, finished=False) == "at_risk"
    assert status_for(None, finished=True) == "missed"


# --- Range metrics: pace and forecast --------------------------------------------------------


@time_machine.travel(NOV_16, tick=False)
def test_linear_pace_without_last_year(org):
    set_target(org, value=10_000_000)  # $100,000 for November
    order(org, local(2026, 11, 2, 10), 2_500_000)
    order(org, local(2026, 11, 15, 23, 59), 2_000_000)
    order(org, local(2026, 11, 10), 9_999_999, status="draft")  # not revenue
    order(org, local(2026, 10, 31, 23, 59), 7_777_777)  # October

    progress = target_progress(org, "revenue", state(org, range="this_month"))

    # actual 4,500,000; expected 10,000,000 × 15/30 = 5,000,000; pace 90 % → at risk (≥ 90 %)
    assert progress["value"] == 10_000_000
    assert progress["actual"] == 4_500_000
    assert progress["progress_pct"] == 45.0
    assert progress["expected_to_date"] == 5_000_000
    assert progress["pace_pct"] == 90.0
    assert progress["pace_basis"] == "linear"
    assert progress["forecast"] == 9_000_000  # 4,500,000 / 0.5
    assert progress["status"] == "at_risk"
    assert progress["period"] == {
        "kind": "month",
        "from": "2026-11-01",
        "to": "2026-11-30",
        "label": "Nov 2026",
        "phase": "running",
        "elapsed_pct": 50.0,
    }


@time_machine.travel(NOV_16, tick=False)
def test_pace_below_ninety_percent_is_behind(org):
    set_target(org, value=10_000_000)
    order(org, local(2026, 11, 5), 4_400_000)  # pace 4.4 / 5.0 = 88 %
    progress = target_progress(org, "revenue", state(org, range="this_month"))
    assert (progress["pace_pct"], progress["status"]) == (88.0, "behind")


@time_machine.travel(NOV_16, tick=False)
def test_seasonal_pace_follows_last_years_shape(org):
    set_target(org, value=10_000_000)
    # Last November: 2,000,000 by the 16th, 6,000,000 after → 25 % of the month by now.
    order(org, local(2025, 11, 3), 2_000_000)
    order(org, local(2025, 11, 16, 0, 1), 4_000_000)
    order(org, local(2025, 11, 28), 2_000_000)
    order(org, local(2026, 11, 9), 3_000_000)

    progress = target_progress(org, "revenue", state(org, range="this_month"))

    # expected 10,000,000 × 0.25 = 2,500,000; pace 3.0 / 2.5 = 120 %; forecast 3.0 / 0.25 = 12.0
    assert progress["pace_basis"] == "last_year"
    assert progress["expected_to_date"] == 2_500_000
    assert progress["pace_pct"] == 120.0
    assert progress["forecast"] == 12_000_000
    assert progress["progress_pct"] == 30.0
    assert progress["status"] == "on_track"


@time_machine.travel(NOV_16, tick=False)
def test_last_year_with_nothing_yet_by_now_falls_back_to_linear(org):
    set_target(org, value=10_000_000)
    order(org, local(2025, 11, 20), 8_000_000)  # last year: all of it after the 16th
    order(org, local(2026, 11, 9), 4_900_000)
    progress = target_progress(org, "revenue", state(org, range="this_month"))
    assert progress["pace_basis"] == "linear"
    assert (progress["expected_to_date"], progress["pace_pct"]) == (5_000_000, 98.0)
    assert progress["status"] == "on_track"


@time_machine.travel(local(2026, 12, 2, 9), tick=False)
def test_a_finished_period_compares_the_final_actual_with_the_target(org):
    set_target(org, value=10_000_000)
    order(org, local(2026, 11, 30, 23, 30), 9_900_000)
    progress = target_progress(org, "revenue", state(org, range="last_month"))
    assert progress["period"]["phase"] == "finished"
    assert (progress["progress_pct"], progress["met"], progress["status"]) == (
        99.0,
        False,
        "missed",
    )
    assert progress["forecast"] == 9_900_000
    assert progress["expected_to_date"] == 10_000_000
    order(org, local(2026, 11, 3), 100_000)
    progress = target_progress(org, "revenue", state(org, range="last_month"))
    assert (progress["progress_pct"], progress["met"], progress["status"]) == (
        100.0,
        True,
        "met",
    )


@time_machine.travel(NOV_16, tick=False)
def test_a_period_not_started_expects_nothing_yet(org):
    set_target(org, start=D(2026, 12, 1))
    progress = target_progress(
        org, "revenue", state(org, **{"from": "2026-12-01", "to": "2026-12-31"})
    )
    assert progress["period"]["phase"] == "upcoming"
    assert (progress["actual"], progress["expected_to_date"], progress["status"]) == (
        0,
        0,
        "on_track",
    )
    assert progress["forecast"] is None and progress["pace_pct"] is None


@time_machine.travel(NOV_16, tick=False)
def test_kwh_targets_keep_decimals(org):
    set_target(org, metric="kwh_deployed", value=Decimal("1000.50"))
    progress = target_progress(org, "kwh_deployed", state(org, range="this_month"))
    assert progress["value"] == 1000.5
    assert progress["actual"] == 0.0
    assert progress["expected_to_date"] == 500.25
    assert progress["status"] == "behind"


# --- Down is good, rates and state metrics ---------------------------------------------------


@time_machine.travel(NOV_16, tick=False)
def test_where_down_is_good_the_target_is_a_ceiling(org):
    set_target(org, metric="warranty_claims", value=10)
    for day in (2, 4, 6, 8, 10):
        claim(org, local(2026, 11, day))
    progress = target_progress(org, "warranty_claims", state(org, range="this_month"))
    # 5 claims against 10 × 0.5 = 5 allowed so far: exactly on the line
    assert (progress["actual"], progress["expected_to_date"], progress["status"]) == (
        5,
        5,
        "on_track",
    )
    assert progress["forecast"] == 10
    claim(org, local(2026, 11, 12))
    progress = target_progress(org, "warranty_claims", state(org, range="this_month"))
    # 6 claims: performance 5 / 6 = 0.83 → behind, although "progress" is only 60 %
    assert (progress["progress_pct"], progress["pace_pct"], progress["status"]) == (
        60.0,
        120.0,
        "behind",
    )


@time_machine.travel(NOV_16, tick=False)
def test_a_rate_compares_directly_without_pace(org):
    set_target(org, metric="quote_win_rate", value=Decimal("0.40"))
    for day in (2, 3, 4):
        closed_quote(org, local(2026, 11, day, 10), "won")
    for day in range(1, 8):
        closed_quote(org, local(2026, 11, day + 3, 10), "lost")
    progress = target_progress(org, "quote_win_rate", state(org, range="this_month"))
    # 3 won / 10 closed = 0.30 against 0.40 → 75 %: behind; no pace for a rate
    assert progress["value"] == 0.4
    assert progress["actual"] == pytest.approx(0.3)
    assert progress["progress_pct"] == 75.0
    assert progress["status"] == "behind"
    assert progress["expected_to_date"] is None and progress["pace_pct"] is None
    assert progress["forecast"] == 0.3
    assert progress["pace_basis"] is None


@time_machine.travel(NOV_16, tick=False)
def test_a_rate_with_nothing_closed_is_at_risk(org):
    set_target(org, metric="quote_win_rate", value=Decimal("0.40"))
    progress = target_progress(org, "quote_win_rate", state(org, range="this_month"))
    assert (progress["actual"], progress["progress_pct"], progress["status"]) == (
        None,
        None,
        "at_risk",
    )


@time_machine.travel(NOV_16, tick=False)
def test_a_state_metric_compares_the_value_at_the_end(org):
    set_target(org, metric="open_warranty_claims", value=4)  # at most 4 open claims
    for day in (1, 2, 3, 4, 5):
        claim(org, local(2026, 11, day))
    claim(org, local(2026, 10, 1), resolved=local(2026, 10, 20))  # closed before: not open
    progress = target_progress(org, "open_warranty_claims", state(org, range="this_month"))
    # 5 open against a ceiling of 4: performance 4/5 = 0.8 → behind
    assert (progress["actual"], progress["progress_pct"], progress["status"]) == (
        5,
        125.0,
        "behind",
    )
    assert progress["forecast"] == 5 and progress["expected_to_date"] is None


# --- Which target applies --------------------------------------------------------------------


@time_machine.travel(NOV_16, tick=False)
def test_the_smallest_period_containing_the_range_wins(org):
    month = set_target(org, value=10_000_000)
    quarter = set_target(org, kind="quarter", start=D(2026, 10, 1), value=30_000_000)
    year = set_target(org, kind="fiscal_year", start=D(2026, 7, 1), value=120_000_000)

    def chosen(**params):
        progress = target_progress(org, "revenue", state(org, **params))
        return progress and progress["target_id"]

    assert chosen(range="this_month") == month.pk
    assert chosen(range="last_7_days") == month.pk  # 10–16 Nov lies inside November
    assert chosen(range="this_quarter") == quarter.pk
    assert chosen(**{"from": "2026-10-25", "to": "2026-11-05"}) == quarter.pk
    assert chosen(range="this_financial_year") == year.pk
    assert chosen(**{"from": "2026-06-25", "to": "2026-07-05"}) is None  # spans two years
    assert chosen(range="last_month") == quarter.pk  # October has no month target
    month.delete()
    assert chosen(range="this_month") == quarter.pk
    assert chosen(range="last_quarter") == year.pk  # Jul–Sep: only the year contains it


@time_machine.travel(NOV_16, tick=False)
def test_progress_is_as_of_the_end_of_the_selected_range(org):
    set_target(org, value=10_000_000)
    order(org, local(2026, 11, 3), 1_000_000)
    order(org, local(2026, 11, 12), 1_000_000)
    progress = target_progress(
        org, "revenue", state(org, **{"from": "2026-11-01", "to": "2026-11-05"})
    )
    # as of midnight after 5 Nov: 1,000,000 actual; expected 10,000,000 × 5/30
    assert progress["actual"] == 1_000_000
    assert progress["expected_to_date"] == 1_666_667
    assert progress["period"]["elapsed_pct"] == 16.7


@time_machine.travel(NOV_16, tick=False)
def test_targets_for_state_reads_targets_once(org):
    set_target(org, value=10_000_000)
    set_target(org, metric="new_customers", value=12)
    set_target(
        org, metric="quote_win_rate", kind="quarter", start=D(2026, 10, 1), value=Decimal("0.4")
    )
    keys = ["revenue", "new_customers", "quote_win_rate", "orders"]
    with CaptureQueriesContext(connection) as captured:
        result = targets_for_state(org, state(org, range="this_month"), keys)
    target_reads = [q for q in captured.captured_queries if "targets_target" in q["sql"]]
    assert len(target_reads) == 1
    assert result["orders"] is None
    assert result["revenue"]["value"] == 10_000_000
    assert result["new_customers"]["value"] == 12
    assert result["quote_win_rate"]["period"]["kind"] == "quarter"


def test_other_organisations_targets_never_apply(org, other_org):
    set_target(other_org, start=D(2026, 11, 1))
    with time_machine.travel(NOV_16, tick=False):
        assert target_progress(org, "revenue", state(org, range="this_month")) is None


# --- Personal targets ------------------------------------------------------------------------


@time_machine.travel(NOV_16, tick=False)
def test_a_personal_target_counts_only_that_persons_records(org, colleague, owner):
    set_target(org, value=10_000_000)
    set_target(org, value=4_000_000, user=colleague)
    order(org, local(2026, 11, 3), 1_000_000, owner=colleague)
    order(org, local(2026, 11, 4), 3_000_000, owner=owner)
    order(org, local(2026, 11, 5), 500_000)
    mine = target_progress(org, "revenue", state(org, range="this_month"), user=colleague)
    everyone = target_progress(org, "revenue", state(org, range="this_month"))
    assert (mine["value"], mine["actual"], mine["expected_to_date"]) == (
        4_000_000,
        1_000_000,
        2_000_000,
    )
    assert mine["status"] == "behind"  # pace 50 %
    assert everyone["actual"] == 4_500_000
    assert target_progress(org, "revenue", state(org, range="this_month"), user=owner) is None


# --- Time zones, daylight saving and financial years ----------------------------------------


@time_machine.travel(local(2026, 10, 16), tick=False)
def test_october_spans_the_start_of_daylight_saving(org):
    # Sydney moves from +10:00 to +11:00 on 4 October 2026.
    set_target(org, start=D(2026, 10, 1), value=3_100_000)
    order(org, local(2026, 9, 30, 23, 30), 1_000_000)  # September (+10:00)
    order(org, local(2026, 10, 1, 0, 0), 200_000)  # first instant of October
    order(org, local(2026, 10, 4, 2, 30), 300_000)  # 2:30 does not exist: read as 3:30 +11
    order(org, local(2026, 10, 15, 23, 59), 500_000)
    progress = target_progress(org, "revenue", state(org, range="this_month"))
    assert progress["actual"] == 1_000_000
    # 15 of 31 days on the local clock (not 359 of 743 hours): expected 3,100,000 × 15/31
    assert progress["period"]["elapsed_pct"] == 48.4
    assert progress["expected_to_date"] == 1_500_000
    assert progress["pace_pct"] == pytest.approx(66.7)


@time_machine.travel(local(2026, 11, 2), tick=False)
def test_a_finished_october_ends_at_local_midnight_after_daylight_saving(org):
    set_target(org, start=D(2026, 10, 1), value=1_000_000)
    order(org, local(2026, 10, 31, 23, 30), 600_000)  # 12:30 UTC on the 31st, still October
    order(org, local(2026, 11, 1, 0, 30), 900_000)  # November
    progress = target_progress(org, "revenue", state(org, range="last_month"))
    assert (progress["actual"], progress["progress_pct"]) == (600_000, 60.0)


@time_machine.travel(local(2026, 4, 20), tick=False)
def test_april_spans_the_end_of_daylight_saving(org):
    # Sydney moves from +11:00 back to +10:00 on 5 April 2026.
    set_target(org, start=D(2026, 4, 1), value=3_000_000)
    order(org, local(2026, 3, 31, 23, 30), 5_000_000)  # March (+11:00)
    order(org, local(2026, 4, 1, 0, 30), 1_000_000)
    order(org, local(2026, 4, 19, 23, 59), 800_000)
    progress = target_progress(org, "revenue", state(org, range="this_month"))
    # 19 of 30 days elapsed: expected 3,000,000 × 19/30 = 1,900,000
    assert progress["actual"] == 1_800_000
    assert progress["expected_to_date"] == 1_900_000
    assert progress["period"]["elapsed_pct"] == 63.3


@time_machine.travel(local(2026, 7, 1, 9), tick=False)
def test_the_financial_year_runs_july_to_june(org):
    set_target(org, kind="fiscal_year", start=D(2025, 7, 1), value=12_000_000)
    set_target(org, kind="fiscal_year", start=D(2026, 7, 1), value=24_000_000)
    order(org, local(2025, 6, 30, 23), 1_000_000)  # FY2025
    order(org, local(2025, 7, 1, 0, 5), 2_000_000)  # FY2026
    order(org, local(2026, 6, 30, 23, 59), 10_000_000)  # FY2026
    order(org, local(2026, 7, 1, 8), 3_000_000)  # FY2027
    last = target_progress(org, "revenue", state(org, range="last_financial_year"))
    assert (last["period"]["label"], last["actual"], last["status"]) == (
        "FY2026",
        12_000_000,
        "met",
    )
    this = target_progress(org, "revenue", state(org, range="this_financial_year"))
    assert (this["period"]["from"], this["period"]["to"], this["actual"]) == (
        "2026-07-01",
        "2027-06-30",
        3_000_000,
    )


@time_machine.travel(local(2026, 5, 10), tick=False)
def test_a_custom_fiscal_year_start(org):
    org.fiscal_year_start_month = 4
    org.save()
    set_target(org, kind="fiscal_year", start=D(2026, 4, 1), value=36_500_000)
    order(org, local(2026, 3, 31, 12), 9_000_000)  # previous FY
    order(org, local(2026, 4, 2), 3_000_000)
    progress = target_progress(org, "revenue", state(org, range="this_financial_year"))
    assert progress["period"]["from"] == "2026-04-01"
    assert progress["period"]["to"] == "2027-03-31"
    assert progress["actual"] == 3_000_000
    # 39 of 365 days: expected 36,500,000 × 39/365 = 3,900,000
    assert progress["expected_to_date"] == 3_900_000


def test_periods_are_local_to_the_organisations_timezone(other_org):
    # Perth is +08:00 all year: 23:30 on 31 Oct in Perth is already 1 Nov in Sydney.
    perth = zoneinfo.ZoneInfo("Australia/Perth")
    set_target(other_org, start=D(2026, 10, 1), value=1_000_000)
    order(other_org, dt.datetime(2026, 10, 31, 23, 30, tzinfo=perth), 700_000)
    with time_machine.travel(dt.datetime(2026, 11, 5, tzinfo=perth), tick=False):
        progress = target_progress(other_org, "revenue", state(other_org, range="last_month"))
    assert progress["actual"] == 700_000
