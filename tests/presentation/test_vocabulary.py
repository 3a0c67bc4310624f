"""The presentation vocabulary, word for word: every expected string is written by hand."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from types import SimpleNamespace

import pytest

from metrics.formatting import format_cell, format_change, format_value, round_half_up
from metrics.periods import comparison_label, comparison_name, parse_state, range_label
from presentation.wording import clock, direction, exact_time
from targets.queries import status_word

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
ORG = SimpleNamespace(timezone="Australia/Sydney", fiscal_year_start_month=7)
# Sat 5 Dec 2026, 10:34 pm in Sydney (AEDT, UTC+11).
NOW = dt.datetime(2026, 12, 5, 11, 34, tzinfo=dt.UTC)


@pytest.mark.parametrize(("number", "expected"), [(0.5, 1), (1.5, 2), (2.5, 3), (-2.5, -3)])
def test_halves_round_up_as_people_round(number, expected):
    assert round_half_up(number) == expected


@pytest.mark.parametrize(
    ("cents", "short", "exact"),
    [
        (50, "$1", "$0.50 AUD"),  # half a dollar rounds up, not to the even $0
        (150, "$2", "$1.50 AUD"),
        (250, "$3", "$2.50 AUD"),
        (53_305_000, "$533,050", "$533,050.00 AUD"),
        (984_000_000, "$9.84M", "$9,840,000.00 AUD"),
        (-5_000, "-$50", "-$50.00 AUD"),
    ],
)
def test_money(cents, short, exact):
    assert format_value(cents, "aud_cents") == (short, exact)


@pytest.mark.parametrize(
    ("kwh", "short"),
    [
        (81.0, "81 kWh"),  # never "81.0 kWh" beside "180 kWh"
        (180, "180 kWh"),
        (13.5, "13.5 kWh"),
        (0.25, "0.3 kWh"),  # half-up; half-to-even would say 0.2
        (2.25, "2.3 kWh"),
        (2263.5, "2,263.5 kWh"),
        (1132.25, "1,132.3 kWh"),
    ],
)
def test_kwh_reads_one_way_at_every_size(kwh, short):
    assert format_value(kwh, "kwh")[0] == short


def test_kwh_and_hours_cells_round_half_up():
    assert format_cell("kwh", Decimal("0.125")) == "0.13"
    assert format_cell("hours", Decimal("2.345")) == "2.35"
    assert format_cell("kwh", Decimal("1250.5")) == "1,250.50"


@pytest.mark.parametrize(
    ("hours", "short", "exact"),
    [(7.25, "7.25 h", "7.25 hours"), (7.5, "7.5 h", "7.50 hours"), (8, "8 h", "8.00 hours")],
)
def test_hours_keep_their_quarter_hours(hours, short, exact):
    assert format_value(hours, "hours") == (short, exact)


def test_percent_and_ratio():
    assert format_value(45.25, "percent") == ("45.3%", "45.25%")
    assert format_value(0.4525, "ratio") == ("45.3%", "45.25%")
    assert format_change({"change": 0.0425, "change_pct": 12.1}, "ratio") == "4.3 pts"
    assert format_change({"change": 90_000, "change_pct": 20.55}, "aud_cents") == "20.6%"


def test_a_change_is_rounded_once_from_the_numbers():
    """14 against 17 is down 3/17 = 17.647…%: "17.6%". The payload's percent is already at two
    places (-17.65); rounding that again would say "17.7%" (seen in a digest)."""
    entry = {"value": 14, "previous": 17, "change": -3, "change_pct": -17.65}
    assert format_change(entry, "count") == "17.6%"
    # Without the previous value the payload's percent is all there is.
    assert format_change({"change": -3, "change_pct": -17.65}, "count") == "17.7%"


def test_comparison_words():
    assert comparison_name("previous_period") == "previous period"
    assert comparison_name("previous_year") == "previous year"
    assert comparison_name("none") is None
    assert [direction(t) for t in ("up", "down", "flat", None)] == ["up", "down", "unchanged", ""]


def test_a_running_preset_reads_as_its_dates_so_far():
    state = parse_state({"range": "this_month"}, ORG, now=NOW)
    assert state.label == "This month"
    assert range_label(state) == "1 – 5 Dec 2026"
    assert comparison_label(state) == "1 – 5 Nov 2026"


def test_a_custom_range_reads_as_its_dates_once():
    state = parse_state(
        {"from": "2026-09-01", "to": "2026-10-15", "compare": "previous_year"}, ORG, now=NOW
    )
    assert state.label == "1 Sep – 15 Oct 2026"
    assert range_label(state) == state.label  # the page prints it once (dashboard.views)
    assert comparison_label(state) == "1 Sep – 15 Oct 2025"


def test_spans_across_years_and_single_days():
    one_day = parse_state({"from": "2026-07-06", "to": "2026-07-06"}, ORG, now=NOW)
    across = parse_state({"from": "2025-12-01", "to": "2026-01-31"}, ORG, now=NOW)
    assert range_label(one_day) == "6 Jul 2026"
    assert range_label(across) == "1 Dec 2025 – 31 Jan 2026"


def test_times_read_am_and_pm_never_p_m():
    assert clock(NOW, SYDNEY) == "10:34 pm"
    assert clock(NOW, SYDNEY, zone=True) == "10:34 pm AEDT"
    assert clock(dt.time(7, 30)) == "7:30 am"
    assert clock(dt.time(12, 5)) == "12:05 pm"
    assert exact_time(NOW, SYDNEY) == "Sat 5 Dec 2026, 10:34 pm"
    assert exact_time(NOW, SYDNEY, weekday=False) == "5 Dec 2026, 10:34 pm"
    assert exact_time(NOW, SYDNEY, year=False) == "Sat 5 Dec, 10:34 pm"


@pytest.mark.parametrize(
    ("status", "phase", "word"),
    [
        ("on_track", "running", "On track"),
        ("at_risk", "running", "At risk"),
        ("behind", "running", "Behind"),
        ("met", "finished", "Met"),
        ("missed", "finished", "Missed"),
        ("on_track", "upcoming", "Not started"),  # one word on every screen, never "Upcoming"
    ],
)
def test_target_status_words(status, phase, word):
    assert status_word(status, phase) == word
