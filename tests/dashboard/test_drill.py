"""Drill-down: every list adds up to its KPI, keeps the dashboard state, and stays in its tenant."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st

from accounts.models import Role
from dashboard.drill import (
    DRILL_SETS,
    PAGE_SIZE,
    InvalidDrill,
    metric_queryset,
    metric_summary,
    parse_drill,
)
from metrics.definitions import METRICS, PIPELINE
from metrics.engine import TimeWindow, read
from metrics.formatting import format_aud, short
from metrics.periods import COMPARISONS, PRESETS, parse_state
from metrics.queries import compute_values, get_timeseries
from metrics.refresh import refresh_summaries
from operations.models import Customer, InstallationJob, Order
from tests.conftest import make_user
from tests.dashboard.factories import build_history

NOW = timezone.now().replace(microsecond=0)
HISTORY_DAYS = 500
HTMX = {"HTTP_HX_REQUEST": "true"}
# Metrics whose rows a count metric counts: the list's row count must equal that metric too.
COUNTED_BY = {
    "revenue": "orders",
    "average_order_value": "orders",
    "kwh_deployed": "jobs_completed",
    "labor_hours": "jobs_completed",
}
SLOW = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def drill_url(metric: str, **params) -> str:
    from urllib.parse import urlencode

    return reverse("drill-metric", args=[metric]) + ("?" + urlencode(params) if params else "")


@pytest.fixture
def history(org, owner):
    """A random history for the org, with the daily summaries refreshed so the engine reads them too."""
    rows = build_history(org, now=NOW, days=HISTORY_DAYS, seed=7)
    refresh_summaries()
    return rows


def assert_drill_matches_engine(org, user, state):
    """Every metric's list total equals compute_values, for the range and its comparison."""
    keys = list(METRICS)
    hybrid = compute_values(org, state, keys)
    live = compute_values(org, state, keys, mode="live")
    assert hybrid == live
    windows = [("current", state.range, 0)]
    if state.comparison:
        windows.append(("comparison", state.comparison, 1))
    for label, window, slot in windows:
        for key, metric in METRICS.items():
            qs = metric_queryset(metric, org, user, window.start_at, window.end_at)
            summary = metric_summary(metric, org, user, qs, window.start_at, window.end_at)
            expected = hybrid[key][slot]
            assert summary.value == expected, (key, label, window, summary.value, expected)
            assert type(summary.value) is type(expected), key
            if metric.unit == "count" and key != "quote_win_rate":
                assert summary.count == expected, (key, label)
            if key in COUNTED_BY:
                assert summary.count == hybrid[COUNTED_BY[key]][slot], (key, label)
            if key == "quote_win_rate":
                won, lost = hybrid["quotes_won"][slot], hybrid["quotes_lost"][slot]
                assert summary.count == won + lost, label
            if key == "pipeline_value":
                frame = read(
                    org.pk,
                    state.tz,
                    PIPELINE,
                    [TimeWindow(None, window.end_at)],
                    mode="live",
                )
                open_count = frame.total(0, "opened_count") - frame.total(0, "closed_count")
                assert summary.count == open_count, label


# --- Totals equal the KPI --------------------------------------------------------------------


@SLOW
@given(
    end_offset=st.integers(min_value=-5, max_value=HISTORY_DAYS + 20),
    length=st.integers(min_value=1, max_value=400),
    compare=st.sampled_from(list(COMPARISONS)),
)
def test_every_list_adds_up_to_its_metric_over_random_ranges(
    history, org, owner, end_offset, length, compare
):
    today = NOW.astimezone(org.tz).date()
    end = today - dt.timedelta(days=end_offset)
    start = end - dt.timedelta(days=length - 1)
    params = {"from": start.isoformat(), "to": end.isoformat(), "compare": compare}
    state = parse_state(params, org, now=NOW)
    assert_drill_matches_engine(org, owner, state)


@SLOW
@given(preset=st.sampled_from(list(PRESETS)), compare=st.sampled_from(list(COMPARISONS)))
def test_every_list_adds_up_to_its_metric_for_every_preset(history, org, owner, preset, compare):
    state = parse_state({"range": preset, "compare": compare}, org, now=NOW)
    assert_drill_matches_engine(org, owner, state)


@pytest.mark.parametrize("metric", list(METRICS))
def test_the_page_header_equals_the_kpi_for_the_range_and_the_comparison(
    client, history, org, owner, metric
):
    client.force_login(owner)
    params = {"range": "last_90_days", "compare": "previous_year"}
    state = parse_state(params, org)
    value, previous = compute_values(org, state, [metric])[metric]

    current = client.get(drill_url(metric, **params))
    compared = client.get(drill_url(metric, period="comparison", **params))

    assert current.status_code == compared.status_code == 200
    assert current.context["summary"].value == value
    assert compared.context["summary"].value == previous
    html = current.content.decode()
    assert f'value="{current.context["summary"].count}"' in html
    if METRICS[metric].unit == "aud_cents" and value is not None:
        # The header reads like the KPI card, with the exact amount beside it.
        assert short(value, "aud_cents") in html
        assert f"{format_aud(value)} AUD" in html
        assert "cents" not in html


@pytest.mark.parametrize(
    ("metric", "interval"),
    [
        ("revenue", "week"),
        ("quotes_won", "month"),
        ("pipeline_value", "week"),
        ("active_installations", "month"),
        ("open_warranty_claims", "day"),
    ],
)
def test_a_chart_bucket_drills_to_the_rows_behind_that_point(history, org, owner, metric, interval):
    params = {"range": "last_90_days", "compare": "previous_period"}
    state = parse_state(params, org, now=NOW)
    series = get_timeseries(org, state, metric, interval, use_cache=False)
    assert series["points"]
    for point in series["points"]:
        for period, key, day in (
            ("current", "value", point["date"]),
            ("comparison", "previous", point.get("previous_date")),
        ):
            if day is None:
                continue
            drill = parse_drill(
                {**params, "bucket": day, "interval": interval, "period": period},
                org,
                METRICS[metric],
                now=NOW,
            )
            summary = metric_summary(
                METRICS[metric],
                org,
                owner,
                drill.base_queryset(org, owner),
                drill.start_at,
                drill.end_at,
                drill.narrowing,
            )
            assert summary.value == point[key], (metric, period, day)


def test_quote_win_rate_lists_won_and_lost_and_says_how_it_adds_up(client, org, owner):
    build_history(org, now=NOW, seed=3)
    client.force_login(owner)

    response = client.get(drill_url("quote_win_rate", range="last_90_days"))

    stages = {row.stage for row in response.context["page_obj"].object_list}
    assert stages <= {"won", "lost"}
    assert re.search(r"\d+ won of \d+ closed", response.content.decode())


# --- The list: sorting, pages, search, narrowing ---------------------------------------------


@pytest.fixture
def many_orders(org):
    customer = Customer.objects.create(
        organization=org, name="Acme Solar", kind="commercial", state="VIC"
    )
    other = Customer.objects.create(
        organization=org, name="Birchwood Farms", kind="agricultural", state="SA"
    )
    orders = [
        Order(
            organization=org,
            customer=customer if i % 3 else other,
            number=f"SO-{1000 + i}",
            status="confirmed" if i % 2 else "fulfilled",
            ordered_at=NOW - dt.timedelta(hours=5 * i + 1),
            total_cents=100_000 + 1_337 * i,
        )
        for i in range(120)
    ]
    Order.objects.bulk_create(orders)
    Order.objects.create(
        organization=org,
        customer=customer,
        number="SO-DRAFT",
        status="draft",
        ordered_at=NOW - dt.timedelta(hours=2),
        total_cents=999_999_00,
    )
    return orders


def test_the_list_pages_by_fifty_and_the_header_counts_every_row(client, owner, many_orders):
    client.force_login(owner)
    url = drill_url("revenue", range="last_30_days", compare="none")

    first = client.get(url)
    last = client.get(url + "&page=3")

    total = sum(o.total_cents for o in many_orders)
    assert first.context["summary"].count == 120
    assert first.context["summary"].value == total
    assert len(first.context["rows"]) == PAGE_SIZE
    assert len(last.context["rows"]) == 120 - 2 * PAGE_SIZE
    html = first.content.decode()
    assert format_aud(total) in html and "SO-DRAFT" not in html
    assert "Page 1 of 3" in html and 'rel="next"' in html


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999", "1.5", ""])
def test_bad_page_numbers_show_a_real_page(client, owner, many_orders, page):
    client.force_login(owner)
    response = client.get(drill_url("orders", range="last_30_days", page=page))
    assert response.status_code == 200
    assert len(response.context["rows"]) > 0


def test_sorting_follows_the_whitelisted_column_and_marks_it_for_screen_readers(
    client, owner, many_orders
):
    client.force_login(owner)
    response = client.get(drill_url("revenue", range="last_30_days", sort="total"))

    listed = [o.total_cents for o in response.context["page_obj"].object_list]
    assert listed == sorted(o.total_cents for o in many_orders)[:PAGE_SIZE]
    html = response.content.decode()
    assert re.search(
        r'<th scope="col" class="num" aria-sort="ascending">\s*<a[^>]*sort=-total', html
    )
    assert html.count("aria-sort=") == 1

    descending = client.get(drill_url("revenue", range="last_30_days", sort="-total"))
    listed = [o.total_cents for o in descending.context["page_obj"].object_list]
    assert listed == sorted((o.total_cents for o in many_orders), reverse=True)[:PAGE_SIZE]


@pytest.mark.parametrize(
    "sort", ["password", "-customer__organization__name", "--total", "total;drop"]
)
def test_unknown_sort_keys_fall_back_to_the_default_order(client, owner, many_orders, sort):
    client.force_login(owner)
    response = client.get(drill_url("revenue", range="last_30_days", sort=sort))
    assert response.status_code == 200
    assert response.context["drill"].sort == "-ordered_at"
    listed = [o.ordered_at for o in response.context["page_obj"].object_list]
    assert listed == sorted(listed, reverse=True)


def test_search_matches_order_numbers_and_customer_names_and_keeps_the_kpi_total(
    client, owner, many_orders
):
    client.force_login(owner)
    by_customer = client.get(drill_url("revenue", range="last_30_days", q="birchwood"))
    by_number = client.get(drill_url("revenue", range="last_30_days", q="SO-1007"))

    assert by_customer.context["matches"] == 40
    assert {o.customer.name for o in by_customer.context["page_obj"].object_list} == {
        "Birchwood Farms"
    }
    assert by_customer.context["summary"].count == 120  # the header still shows the KPI
    assert [o.number for o in by_number.context["page_obj"].object_list] == ["SO-1007"]
    assert "q=birchwood" in by_customer.context["csv_url"]


def test_rows_link_to_their_admin_page_for_staff_only(client, owner, many_orders):
    client.force_login(owner)
    response = client.get(drill_url("orders", range="last_30_days"))
    first = response.context["page_obj"].object_list[0]
    admin_url = reverse("admin:operations_order_change", args=[first.pk])
    # Without access to the Django admin a link there would dead-end.
    assert admin_url not in response.content.decode()
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    response = client.get(drill_url("orders", range="last_30_days"))
    assert admin_url in response.content.decode()


def test_status_narrowing_from_a_chart_click_and_the_state_in_every_link(
    client, owner, many_orders
):
    client.force_login(owner)
    response = client.get(
        drill_url("revenue", range="last_30_days", compare="previous_year", status="confirmed")
    )
    assert response.context["summary"].count == 60
    assert response.context["back_url"] == "/dashboard/?range=last_30_days&compare=previous_year"
    html = response.content.decode()
    assert 'href="/dashboard/?range=last_30_days&amp;compare=previous_year"' in html
    for key in ("csv_url", "comparison_url", "next_url"):
        assert "range=last_30_days&compare=previous_year&status=confirmed" in response.context[key]


def test_a_day_bucket_lists_only_that_local_day(client, org, owner, many_orders):
    client.force_login(owner)
    day = (NOW - dt.timedelta(days=3)).astimezone(org.tz).date()
    response = client.get(
        drill_url("orders", range="last_30_days", bucket=day.isoformat(), interval="day")
    )
    expected = [o for o in many_orders if o.ordered_at.astimezone(org.tz).date() == day]
    assert response.context["summary"].count == len(expected) > 0
    assert f"Day {day:%-d %b %Y}" in response.content.decode()


def test_the_comparison_toggle_lists_the_previous_period(client, org, owner):
    customer = Customer.objects.create(organization=org, name="Old", kind="commercial", state="NSW")
    Order.objects.create(
        organization=org,
        customer=customer,
        number="SO-PREV",
        status="fulfilled",
        ordered_at=NOW - dt.timedelta(days=45),
        total_cents=5_000_00,
    )
    client.force_login(owner)
    params = {"range": "last_30_days", "compare": "previous_period"}

    current = client.get(drill_url("revenue", **params))
    previous = client.get(drill_url("revenue", period="comparison", **params))

    assert current.context["summary"].count == 0
    assert previous.context["summary"].value == 5_000_00
    assert "SO-PREV" in previous.content.decode()
    assert 'aria-current="true"' in previous.content.decode()


# --- htmx ------------------------------------------------------------------------------------


def test_an_htmx_request_gets_the_modal_and_the_results_target_gets_only_rows(
    client, owner, many_orders
):
    client.force_login(owner)
    url = drill_url("revenue", range="last_30_days", compare="previous_period")

    page = client.get(url)
    modal = client.get(url, **HTMX)
    rows = client.get(url + "&sort=total", HTTP_HX_TARGET="drill-results", **HTMX)

    assert "<html" in page.content.decode()
    modal_html = modal.content.decode()
    assert "<html" not in modal_html and 'class="drill drill-embedded"' in modal_html
    assert "css/drill.css" in modal_html  # the modal brings its stylesheet
    assert "<h2" in modal_html
    rows_html = rows.content.decode()
    assert rows_html.lstrip().startswith('<div id="drill-results"')
    assert "drill-summary" not in rows_html and "SO-" in rows_html
    assert modal["Vary"] and "HX-Request" in modal["Vary"]


# --- Bad input -------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(drill_url("revenue"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_unknown_metric_is_a_404_that_names_the_accepted_ones(client, owner):
    client.force_login(owner)
    for request in ({}, HTMX):
        response = client.get(drill_url("profit"), **request)
        assert response.status_code == 404
        assert "Unknown metric" in response.content.decode()
        assert "revenue" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01", "to": "2026-12-31"}, "not a real date"),
        ({"from": "2026-07-10", "to": "2026-07-01"}, "is after"),
        ({"from": "2026-07-01"}, "need both"),
        ({"range": "forever"}, "Unknown range"),
        ({"compare": "yesterday"}, "Unknown compare"),
        ({"range": "last_30_days", "bucket": "someday"}, "YYYY-MM-DD"),
        ({"range": "last_30_days", "bucket": "2001-01-01"}, "outside the range"),
        (
            {"range": "last_30_days", "bucket": NOW.date().isoformat(), "interval": "hour"},
            "Unknown interval",
        ),
        ({"range": "last_30_days", "interval": "week"}, "only applies"),
        ({"range": "last_30_days", "stage": "won"}, "does not apply"),
        ({"range": "last_30_days", "status": "shipped"}, "Unknown status"),
        (
            {"range": "last_30_days", "compare": "none", "period": "comparison"},
            "needs a comparison",
        ),
        ({"range": "last_30_days", "period": "future"}, "Unknown period"),
        ({"range": "last_30_days", "format": "pdf"}, "Unknown format"),
    ],
)
def test_bad_parameters_are_a_400_with_the_reason(client, owner, params, message):
    client.force_login(owner)
    response = client.get(drill_url("revenue", **params))
    assert response.status_code == 400
    assert message in response.content.decode()
    htmx = client.get(drill_url("revenue", **params), **HTMX)
    assert htmx.status_code == 400 and message in htmx.content.decode()


def test_parse_drill_rejects_a_stage_outside_the_choices(org):
    with pytest.raises(InvalidDrill, match="Accepted: lead, qualified"):
        parse_drill({"stage": "maybe"}, org, METRICS["pipeline_value"])


# --- Tenancy and roles -----------------------------------------------------------------------


def test_an_outsider_never_sees_the_organisations_rows(client, org, outsider, settings):
    settings.RATELIMIT_ENABLE = False  # one export per metric, more than a minute's allowance
    build_history(org, now=NOW, seed=11)
    Customer.objects.filter(organization=org).update(name="Quokka Distinctive Holdings")
    client.force_login(outsider)
    for metric in METRICS:
        for params in ({"range": "last_90_days"}, {"from": "2021-01-01", "to": "2030-12-31"}):
            response = client.get(drill_url(metric, **params))
            assert response.status_code == 200, metric
            assert response.context["summary"].count == 0, metric
            assert "Quokka Distinctive" not in response.content.decode(), metric
        export = client.get(drill_url(metric, range="last_90_days", format="csv"))
        assert "Quokka Distinctive" not in b"".join(export.streaming_content).decode()


def test_technicians_see_only_their_own_jobs_and_no_other_lists(client, org, users_by_role):
    technician = users_by_role["technician"]
    colleague_tech = make_user(org, Role.TECHNICIAN, "tech2@renoz.test")
    rows = build_history(org, now=NOW, seed=5, technician=colleague_tech)
    own = rows["jobs"][:6]
    InstallationJob.objects.filter(pk__in=[j.pk for j in own]).update(technician=technician)
    client.force_login(technician)
    everything = {"from": "2020-01-01", "to": NOW.date().isoformat()}

    for metric in ("jobs_completed", "kwh_deployed", "labor_hours", "active_installations"):
        response = client.get(drill_url(metric, **everything))
        assert response.status_code == 200
        listed = set(response.context["page_obj"].object_list.values_list("technician", flat=True))
        assert listed <= {technician.pk}, metric
        expected = (
            metric_queryset(
                METRICS[metric],
                org,
                None,
                dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                NOW + dt.timedelta(days=2),
            )
            .filter(technician=technician)
            .count()
        )
        assert response.context["summary"].count == expected, metric

    completed = [j for j in own if j.status == "completed"]
    response = client.get(drill_url("jobs_completed", **everything))
    assert response.context["summary"].count == len(completed)
    assert response.context["summary"].value == len(completed)

    # Their own activities, as in their feed, and no one else's.
    response = client.get(drill_url("activities", **everything))
    assert response.status_code == 200
    listed = set(response.context["page_obj"].object_list.values_list("user_id", flat=True))
    assert listed <= {technician.pk}
    assert response.context["summary"].value == response.context["summary"].count

    for metric in ("revenue", "pipeline_value", "warranty_claims", "customer_count"):
        response = client.get(drill_url(metric, range="last_30_days"))
        assert response.status_code == 403, metric
        assert "Technicians can open the records behind their own jobs and activities only" in (
            response.content.decode()
        )
        export = client.get(drill_url(metric, range="last_30_days", format="csv"))
        assert export.status_code == 403


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.TECHNICIAN])
def test_every_other_role_sees_all_rows(client, org, users_by_role, role, many_orders):
    client.force_login(users_by_role[role])
    response = client.get(drill_url("revenue", range="last_30_days"))
    assert response.status_code == 200
    assert response.context["summary"].count == len(many_orders)


# --- Cost ------------------------------------------------------------------------------------


def test_a_page_takes_a_fixed_number_of_queries(
    client, owner, many_orders, django_assert_max_num_queries
):
    client.force_login(owner)
    client.get(drill_url("revenue", range="last_30_days"))  # warm the session
    # session, user, rows (count), coverage, the figure (summary part; live part with its
    # serial-plan setting) and the page.
    with django_assert_max_num_queries(8):
        response = client.get(drill_url("revenue", range="last_30_days", page=2))
    assert len(response.context["rows"]) == PAGE_SIZE


def test_every_drill_set_renders(client, org, owner):
    build_history(org, now=NOW, seed=2)
    client.force_login(owner)
    seen = set()
    for key, metric in METRICS.items():
        response = client.get(drill_url(key, range="last_90_days", compare="previous_period"))
        assert response.status_code == 200, key
        assert response.context["summary"].count > 0, key
        seen.add(metric.drill)
    assert seen == set(DRILL_SETS)


def test_money_formats_in_aud_exactly():
    assert format_aud(123456789) == "$1,234,567.89"
    assert format_aud(5) == "$0.05"
    assert format_aud(0) == "$0.00"
    assert format_aud(-150) == "-$1.50"
    assert format_aud(10**17 + 1) == "$1,000,000,000,000,000.01"  # no float rounding


def test_stage_and_kind_narrowing_match_the_chart_slices(client, org, owner):
    build_history(org, now=NOW, seed=4)
    client.force_login(owner)
    params = {"range": "last_90_days", "compare": "none"}
    state = parse_state(params, org)
    total = compute_values(org, state, ["pipeline_value", "warranty_claims"])
    by_stage = [
        client.get(drill_url("pipeline_value", stage=stage, **params)).context["summary"].value
        for stage in ("lead", "qualified", "quoted", "negotiation", "won", "lost")
    ]
    by_kind = [
        client.get(drill_url("warranty_claims", kind=kind, **params)).context["summary"].count
        for kind in ("defect", "performance", "installation", "other")
    ]
    assert sum(by_stage) == total["pipeline_value"][0]
    assert sum(by_kind) == total["warranty_claims"][0]


def test_every_sortable_column_sorts_both_ways(client, org, owner):
    build_history(org, now=NOW, seed=6)
    client.force_login(owner)
    for drill_set in DRILL_SETS.values():
        metric = next(m for m in METRICS.values() if m.drill == drill_set.key)
        for key in drill_set.sort_keys:
            for sort in (key, f"-{key}"):
                response = client.get(drill_url(metric.key, range="last_90_days", sort=sort))
                assert response.status_code == 200, (metric.key, sort)
                assert response.context["drill"].sort == sort


@pytest.mark.parametrize("q", ["²", "①", "12\x003", "\x00"])
def test_odd_search_strings_are_searched_not_a_500(client, owner, many_orders, q):
    client.force_login(owner)
    response = client.get(drill_url("orders", range="last_30_days", q=q))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        # A digit-like symbol is not an id; nothing matches it, and the page says so.
        assert response.context["matches"] == 0 or "\x00" in q
    export = client.get(drill_url("orders", range="last_30_days", q=q, format="csv"))
    assert export.status_code in (200, 400)
