"""When reports are due: cadences, daylight saving in Sydney, and the latest missed slot."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from reports.models import ScheduledReport
from reports.schedule import due_slot, latest_slot, local_instant, next_slots

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
UTC = dt.UTC


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def report(**fields) -> ScheduledReport:
    base = {"cadence": "daily", "send_time": dt.time(8, 0), "timezone": "Australia/Sydney"}
    return ScheduledReport(**{**base, **fields})


def test_a_send_time_inside_the_spring_forward_gap_goes_at_the_next_valid_minute():
    # 4 Oct 2026: Sydney jumps from 02:00 AEST to 03:00 AEDT; 02:30 does not exist.
    assert local_instant(dt.date(2026, 10, 4), dt.time(2, 30), SYDNEY) == utc(2026, 10, 3, 16, 0)
    # 02:00 itself is also inside the gap.
    assert local_instant(dt.date(2026, 10, 4), dt.time(2, 0), SYDNEY) == utc(2026, 10, 3, 16, 0)


def test_a_send_time_that_repeats_in_autumn_is_its_first_occurrence():
    # 5 Apr 2026: 02:30 happens at 15:30 UTC (AEDT) and again at 16:30 UTC (AEST).
    assert local_instant(dt.date(2026, 4, 5), dt.time(2, 30), SYDNEY) == utc(2026, 4, 4, 15, 30)


def test_the_next_three_sends_cross_daylight_saving_in_local_time():
    daily = report(send_time=dt.time(2, 30))
    slots = next_slots(daily, utc(2026, 10, 2, 12, 0))
    assert [f"{s.astimezone(SYDNEY):%a %-d %b %H:%M %Z}" for s in slots] == [
        "Sat 3 Oct 02:30 AEST",
        "Sun 4 Oct 03:00 AEDT",
        "Mon 5 Oct 02:30 AEDT",
    ]


def test_weekly_and_monthly_reports_fall_on_their_day():
    weekly = report(cadence="weekly", weekday=2, send_time=dt.time(9, 15))  # Wednesday
    assert next_slots(weekly, utc(2026, 6, 1), 2) == [
        utc(2026, 6, 2, 23, 15),  # Wed 3 Jun 09:15 AEST
        utc(2026, 6, 9, 23, 15),
    ]
    monthly = report(cadence="monthly", month_day=28, send_time=dt.time(7, 0))
    assert next_slots(monthly, utc(2026, 1, 30), 2) == [
        utc(2026, 2, 27, 20, 0),  # 28 Feb 07:00 AEDT
        utc(2026, 3, 27, 20, 0),
    ]


def test_a_report_in_another_timezone_follows_its_own_clock():
    perth = report(timezone="Australia/Perth", send_time=dt.time(8, 0))
    assert latest_slot(perth, utc(2026, 7, 1, 1, 0)) == utc(2026, 7, 1, 0, 0)


def test_after_downtime_only_the_latest_missed_slot_is_due():
    daily = report(send_time=dt.time(8, 0))
    # Three days down: the 08:00 slots of 2, 3 and 4 Jul were missed; only 4 Jul's is due.
    assert due_slot(daily, utc(2026, 7, 4, 3, 0)) == utc(2026, 7, 3, 22, 0)


def test_slots_before_the_schedule_anchor_are_never_due():
    daily = report(send_time=dt.time(8, 0), schedule_anchor=utc(2026, 7, 3, 23, 0))
    assert due_slot(daily, utc(2026, 7, 4, 1, 0)) is None
    assert due_slot(daily, utc(2026, 7, 4, 22, 0)) == utc(2026, 7, 4, 22, 0)


@pytest.mark.parametrize("cadence", ["fortnightly", ""])
def test_an_unknown_cadence_is_refused(cadence):
    with pytest.raises(ValueError, match="Unknown cadence"):
        latest_slot(report(cadence=cadence), utc(2026, 7, 4))
