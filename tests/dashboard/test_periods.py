import datetime as dt
import zoneinfo

import pytest

from accounts.models import Organization
from metrics.periods import InvalidPeriod, parse_state, shift_year

SYD = zoneinfo.ZoneInfo("Australia/Sydney")


def org(tz="Australia/Sydney", fiscal=7):
    return Organization(name="Renoz Energy", timezone=tz, fiscal_year_start_month=fiscal)


def at(y, m, d, hh=12, mm=0, tz=SYD):
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def state(params, now, organization=None):
    return parse_state(params, organization or org(), now)


def test_this_month_is_to_date_and_compares_same_elapsed_span_of_last_month():
    s = state({"range": "this_month", "compare": "previous_period"}, at(2026, 11, 22, 14, 30))
    assert (s.range.start, s.range.end, s.to_date) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
        True,
    )
    assert (s.comparison.start, s.comparison.end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 22))
    assert s.comparison.end_at == at(2026, 10, 22, 14, 30)


def test_previous_year_maps_29_february_to_28_february():
    assert shift_year(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    s = state(
        {"from": "2024-02-01", "to": "2024-02-29", "compare": "previous_year"}, at(2026, 1, 1)
    )
    assert (s.comparison.start, s.comparison.end) == (dt.date(2023, 2, 1), dt.date(2023, 2, 28))
    assert s.to_date is False


def test_financial_year_presets_follow_the_organisation_fiscal_start():
    s = state({"range": "this_financial_year"}, at(2026, 11, 22))
    assert (s.range.start, s.range.end) == (dt.date(2026, 7, 1), dt.date(2027, 6, 30))
    s = state({"range": "last_financial_year"}, at(2026, 6, 30, 23, 59))
    assert (s.range.start, s.range.end) == (dt.date(2024, 7, 1), dt.date(2025, 6, 30))
    s = state({"range": "this_financial_year"}, at(2026, 11, 22), org(fiscal=1))
    assert (s.range.start, s.range.end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_quarters_and_previous_period_of_a_custom_range():
    s = state({"range": "last_quarter", "compare": "previous_period"}, at(2026, 11, 22))
    assert (s.range.start, s.range.end) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert (s.comparison.start, s.comparison.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    s = state(
        {"from": "2026-03-10", "to": "2026-03-19", "compare": "previous_period"}, at(2026, 11, 22)
    )
    assert (s.comparison.start, s.comparison.end) == (dt.date(2026, 2, 28), dt.date(2026, 3, 9))


def test_days_are_local_and_safe_across_daylight_saving():
    # Sydney leaves DST on 5 April 2026: that local day is 25 hours long.
    s = state({"from": "2026-04-05", "to": "2026-04-05", "compare": "none"}, at(2026, 11, 22))
    assert s.range.start_at.utcoffset() == dt.timedelta(hours=11)
    assert s.range.end_at.astimezone(dt.UTC) - s.range.start_at.astimezone(dt.UTC) == dt.timedelta(
        hours=25
    )
    # And enters DST on 4 October 2026: a 23-hour day.
    s = state({"from": "2026-10-04", "to": "2026-10-04", "compare": "none"}, at(2026, 11, 22))
    assert s.range.end_at.astimezone(dt.UTC) - s.range.start_at.astimezone(dt.UTC) == dt.timedelta(
        hours=23
    )


def test_local_today_differs_from_utc_today():
    # 23:30 UTC on 21 Nov is 10:30 on 22 Nov in Sydney.
    s = state({"range": "today"}, dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC))
    assert s.range.start == dt.date(2026, 11, 22)
    perth = state(
        {"range": "today"}, dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC), org("Australia/Perth")
    )
    assert perth.range.start == dt.date(2026, 11, 22)
    assert perth.range.start_at.utcoffset() == dt.timedelta(hours=8)


def test_state_round_trips_through_the_url():
    s = state(
        {"from": "2026-07-01", "to": "2026-09-30", "compare": "previous_year"}, at(2026, 11, 22)
    )
    again = state(dict(p.split("=") for p in s.querystring().split("&")), at(2026, 11, 22))
    assert again == s


@pytest.mark.parametrize(
    "params, message",
    [
        ({"from": "2026-13-01", "to": "2026-12-01"}, "not a real date"),
        ({"from": "yesterday", "to": "2026-12-01"}, "YYYY-MM-DD"),
        ({"from": "2026-09-01", "to": "2026-08-01"}, "after"),
        ({"from": "2000-01-01", "to": "2026-08-01"}, "10 years"),
        ({"from": "2026-01-01"}, "both"),
        ({"range": "forever"}, "Accepted"),
        ({"range": "today", "compare": "sideways"}, "Accepted"),
        ({"range": "<script>alert(1)</script>"}, "Unknown range"),
        ({"range": "today", "from": "2026-01-01", "to": "2026-01-02"}, "either"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(params, message):
    with pytest.raises(InvalidPeriod, match=message):
        state(params, at(2026, 11, 22))


# "Last week" is Monday to Sunday in the organisation's timezone; "last full month" the whole
# calendar month before this one. Dates below were worked out with a calendar: 1 Jan 2027 is a
# Friday; Sydney enters daylight saving on Sunday 4 Oct 2026 and leaves it on Sunday 5 Apr 2026.


def test_last_week_is_the_previous_monday_to_sunday_across_the_new_year():
    s = state({"range": "last_week", "compare": "previous_period"}, at(2027, 1, 1, 9))
    assert (s.range.start, s.range.end, s.to_date) == (
        dt.date(2026, 12, 21),
        dt.date(2026, 12, 27),
        False,
    )
    assert (s.comparison.start, s.comparison.end) == (dt.date(2026, 12, 14), dt.date(2026, 12, 20))
    s = state({"range": "last_week", "compare": "previous_period"}, at(2027, 1, 4, 0, 5))
    assert (s.range.start, s.range.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert (s.comparison.start, s.comparison.end) == (dt.date(2026, 12, 21), dt.date(2026, 12, 27))
    assert s.label == "Last week"


def test_last_week_follows_the_organisation_clock_not_utc():
    # 23:30 UTC on Sunday 3 Jan 2027 is 10:30 on Monday 4 Jan in Sydney and 13:30 on Sunday
    # 3 Jan in Honolulu (UTC-10), where last week is still the one before.
    now = dt.datetime(2027, 1, 3, 23, 30, tzinfo=dt.UTC)
    s = state({"range": "last_week"}, now)
    assert (s.range.start, s.range.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    honolulu = state({"range": "last_week"}, now, org("Pacific/Honolulu"))
    assert (honolulu.range.start, honolulu.range.end) == (
        dt.date(2026, 12, 21),
        dt.date(2026, 12, 27),
    )


def _hours(window):
    """Real elapsed hours (subtracting two datetimes of one zone gives wall-clock time)."""
    return (window.end_at.astimezone(dt.UTC) - window.start_at.astimezone(dt.UTC)) / dt.timedelta(
        hours=1
    )


def test_last_week_spans_the_daylight_saving_change_in_local_days():
    s = state({"range": "last_week", "compare": "none"}, at(2026, 10, 7))
    assert (s.range.start, s.range.end) == (dt.date(2026, 9, 28), dt.date(2026, 10, 4))
    assert s.range.start_at == at(2026, 9, 28, 0, 0)
    assert s.range.start_at.utcoffset() == dt.timedelta(hours=10)
    assert s.range.end_at.utcoffset() == dt.timedelta(hours=11)
    hours = _hours(s.range)
    assert hours == 7 * 24 - 1
    s = state({"range": "last_week", "compare": "none"}, at(2026, 4, 8))
    assert (s.range.start, s.range.end) == (dt.date(2026, 3, 30), dt.date(2026, 4, 5))
    assert _hours(s.range) == 7 * 24 + 1


def test_last_full_month_is_the_whole_previous_month():
    s = state({"range": "last_month", "compare": "previous_period"}, at(2027, 1, 1, 0, 1))
    assert (s.range.start, s.range.end, s.to_date) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 31),
        False,
    )
    assert (s.comparison.start, s.comparison.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert s.label == "Last full month"
    leap = state({"range": "last_month"}, at(2028, 3, 15))
    assert (leap.range.start, leap.range.end) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    april = state({"range": "last_month", "compare": "none"}, at(2026, 5, 10))
    assert _hours(april.range) == 30 * 24 + 1


def test_the_picker_the_api_and_the_report_form_read_the_one_list(client, owner):
    client.force_login(owner)
    picker = client.get("/dashboard/").content.decode()
    assert '<option value="last_week"' in picker and "Last full month" in picker
    form = client.get("/dashboard/reports/new/").content.decode()
    assert '<option value="last_week"' in form and "Last full month" in form
    now = dt.datetime.now(SYD)
    monday = now.date() - dt.timedelta(days=now.weekday() + 7)
    body = client.get("/api/dashboard/metrics?range=last_week&metrics=revenue").json()
    assert body["range"] == {
        "from": monday.isoformat(),
        "to": (monday + dt.timedelta(days=6)).isoformat(),
        "to_date": False,
    }
