"""The dashboard screen: page and htmx partials, widget fragments with real numbers, bad
periods, the activity feed, and the technician's own jobs."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from dashboard.layouts import default_widgets, get_layout
from metrics import cache as metric_cache
from metrics.formatting import format_change, format_value
from metrics.periods import parse_state
from metrics.queries import get_metrics, get_timeseries
from operations.models import Activity, Customer, InstallationJob, Order
from presentation import widgets
from presentation.widgets import kpis as kpi_widgets
from presentation.widgets.charts import build_pipeline_by_stage, build_trend
from tests.conftest import make_user
from tests.dashboard.factories import build_history

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def history(org):
    """Four months of random records; its jobs belong to a technician of their own."""
    technician = make_user(org, Role.TECHNICIAN, email="history-tech@renoz.test")
    return build_history(
        org,
        now=timezone.now(),
        days=120,
        n_orders=80,
        n_opps=60,
        n_jobs=40,
        n_claims=20,
        n_customers=20,
        n_activities=40,
        technician=technician,
    )


def login(client, user):
    client.force_login(user)
    return client


def widget_urls(content: str) -> list[str]:
    return [
        html.unescape(url)
        for url in dict.fromkeys(re.findall(r'hx-get="(/dashboard/widgets/[^"]+)"', content))
    ]


def kpi_values(content: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([a-z_]+)" data-value="([^"]*)"', content))


# --- The page ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_plain_request_renders_the_whole_page_with_every_widget(client, owner, history):
    response = login(client, owner).get("/dashboard/?range=last_30_days&compare=previous_year")
    content = response.content.decode()

    assert response.status_code == 200
    assert "<html" in content and "htmx.min.js" in content
    assert "Renoz Energy <span" in content  # the h1
    assert 'hx-headers=\'{"X-CSRFToken"' in content
    # Every widget comes with the page (issue 25): KPI cards computed together, the others
    # inline; htmx fetches a widget again only to refresh it, in the same state.
    executive = default_widgets("executive")
    kpis = [w for w in executive if w["type"] == "kpi"]
    assert len(kpi_values(content)) == len(kpis) == 9
    urls = widget_urls(content)
    assert len(urls) == len(executive) - len(kpis)
    assert all("range=last_30_days&compare=previous_year" in url for url in urls)
    assert 'hx-trigger="load' not in content and 'aria-busy="true"' not in content
    # Insights are read, never computed, on the page: none are stored for this period yet,
    # so the widget says so, polls for them, and their store is queued (after the commit).
    assert 'hx-trigger="every 3s, dashboard:refresh from:body"' in content
    assert content.count('hx-trigger="dashboard:refresh from:body"') == len(urls)
    assert "Working out the findings for this period" in content
    assert 'class="insight-narrative"' not in content
    assert content.count('class="chart-svg chart-svg-wide" role="img"') == 5  # five charts
    assert 'class="feed-item"' in content
    # plotly.js is not on the page: dashboard.js loads it on interaction or when idle.
    assert "plotly-basic" not in re.sub(r'data-plotly-src="[^"]*"', "", content)
    # One request refreshes every card: /dashboard/kpis/ in the same state.
    assert (
        'id="kpi-refresh" hidden hx-get="/dashboard/kpis/?range=last_30_days&amp;'
        'compare=previous_year" hx-trigger="dashboard:refresh from:body" hx-swap="none"'
    ) in content
    assert "axe.min.js" not in content  # axe is for tests only


def test_htmx_request_gets_the_dashboard_partial_and_the_canonical_url(client, owner):
    response = login(client, owner).get(
        "/dashboard/?range=custom&from=2026-07-01&to=2026-09-30&compare=none", **HX
    )
    content = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="dashboard"')
    assert response["HX-Push-Url"] == "/dashboard/?from=2026-07-01&to=2026-09-30&compare=none"
    assert "HX-Request" in response["Vary"]
    assert 'value="2026-07-01"' in content


def test_history_restore_request_gets_the_whole_page(client, owner):
    response = login(client, owner).get(
        "/dashboard/?range=last_month", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX
    )
    assert "<html" in response.content.decode()
    assert "HX-Push-Url" not in response


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=next_century", "Unknown range 'next_century'"),
        ("range=this_month&compare=yesterday", "Unknown compare 'yesterday'"),
        ("from=2026-09-30&to=2026-07-01", "is after 'to'"),
        ("from=2026-07-01", "need both 'from' and 'to'"),
        ("range=custom&from=2026-07-01&to=", "need both a 'from' and a 'to' date"),
        ("from=2026-02-30&to=2026-03-01", "not a real date"),
        ("from=01/07/2026&to=2026-09-30", "YYYY-MM-DD"),
        ("from=2000-01-01&to=2026-01-01", "longer than 10 years"),
    ],
)
def test_bad_period_is_a_400_with_a_message_for_people(client, owner, query, message):
    login(client, owner)
    plain = client.get(f"/dashboard/?{query}")
    partial = client.get(f"/dashboard/?{query}", **HX)

    for response in (plain, partial):
        assert response.status_code == 400
        content = html.unescape(response.content.decode())
        assert message in content
        assert "We can’t show that period" in content
        assert 'role="alert"' in content
    assert "<html" in plain.content.decode()
    assert "<html" not in partial.content.decode()


def test_widget_with_a_bad_period_is_a_400_not_a_500(client, owner):
    widget = default_widgets("executive")[0]
    response = login(client, owner).get(f"/dashboard/widgets/{widget['id']}/?range=nope", **HX)
    assert response.status_code == 400
    assert "Unknown range" in response.content.decode()


# --- Widget fragments -------------------------------------------------------------------


def test_kpi_cards_show_exactly_the_numbers_of_get_metrics(client, owner, history):
    login(client, owner)
    query = "range=last_90_days&compare=previous_period"
    state = parse_state({"range": "last_90_days", "compare": "previous_period"}, owner.organization)
    expected = get_metrics(owner.organization, state)["metrics"]
    kpis = [w for w in default_widgets("executive") if w["type"] == "kpi"]
    page = client.get(f"/dashboard/?{query}").content.decode()
    refreshed = client.get(f"/dashboard/kpis/?{query}", **HX)
    one_by_one = {}
    for widget in kpis:
        response = client.get(f"/dashboard/widgets/{widget['id']}/?{query}", **HX)
        assert response.status_code == 200
        assert "<html" not in response.content.decode()
        one_by_one.update(kpi_values(response.content.decode()))

    assert refreshed.status_code == 200
    assert "<html" not in refreshed.content.decode()
    for shown in (kpi_values(page), kpi_values(refreshed.content.decode()), one_by_one):
        assert sorted(shown) == sorted(w["settings"]["metric"] for w in kpis)
        for key, text in shown.items():
            value = expected[key]["value"]
            assert text == ("" if value is None else str(value)), key
    assert expected["revenue"]["value"] > 0  # real numbers, not an empty org


def test_kpi_refresh_swaps_every_card_into_place_out_of_band(client, owner, history):
    login(client, owner)
    kpis = [w for w in default_widgets("executive") if w["type"] == "kpi"]
    content = client.get("/dashboard/kpis/?range=last_30_days", **HX).content.decode()

    bodies = re.findall(
        r'<div class="widget-body" id="wb-([0-9a-f]{32})" hx-swap-oob="true"', content
    )
    assert bodies == [w["id"] for w in kpis]
    assert content.count('class="kpi tone-') == len(kpis)
    assert 'hx-get="/dashboard/widgets/' not in content  # the cards never refresh one by one


def test_kpi_refresh_of_a_bad_period_is_a_400(client, owner):
    response = login(client, owner).get("/dashboard/kpis/?range=next_century", **HX)
    assert response.status_code == 400
    assert "Unknown range" in response.content.decode()


def test_kpi_card_formats_for_people_and_keeps_the_exact_amount(client, owner, history):
    login(client, owner)
    widget = default_widgets("executive")[0]  # revenue
    state = parse_state({"range": "last_90_days"}, owner.organization)
    entry = get_metrics(owner.organization, state)["metrics"]["revenue"]
    response = client.get(f"/dashboard/widgets/{widget['id']}/?range=last_90_days", **HX)
    content = html.unescape(response.content.decode())

    short, exact = format_value(entry["value"], "aud_cents")
    assert f'title="{exact}"' in content
    assert f">{short}</div>" in content
    assert exact in re.search(r'aria-label="([^"]*)"', content).group(1)
    assert f'href="/dashboard/drill/revenue/?{state.querystring()}"' in content
    assert 'hx-target="#modal"' in content
    tone = {True: "good", False: "bad", None: "neutral"}[entry["good"]]
    assert f"delta-{tone}" in content


def test_cached_widgets_render_from_their_fragments_on_the_next_page_view(client, owner, history):
    login(client, owner)
    first = client.get("/dashboard/?range=last_30_days").content.decode()
    metric_cache.reset_stats()
    second = client.get("/dashboard/?range=last_30_days").content.decode()
    shared = [w for w in default_widgets("executive") if not widgets.CATALOGUE[w["type"]].per_user]
    stats = metric_cache.cache_stats()
    assert stats["fragment_hits"] == len(shared) == 14  # 9 cards, 5 charts
    assert stats["fragment_misses"] == 0
    assert len(kpi_values(second)) == 9
    assert second.count('class="chart-svg chart-svg-wide"') == first.count(
        'class="chart-svg chart-svg-wide"'
    )


def test_warm_page_view_needs_few_queries(client, owner, history, django_assert_max_num_queries):
    login(client, owner)
    for url in widget_urls(client.get("/dashboard/").content.decode()):
        client.get(url, **HX)
    with django_assert_max_num_queries(6):
        client.get("/dashboard/")


def test_chart_fragments_carry_a_figure_a_table_and_a_text_alternative(client, owner, history):
    login(client, owner)
    state = parse_state({"range": "last_90_days"}, owner.organization)
    series = get_timeseries(owner.organization, state, "revenue")
    trend = next(w for w in default_widgets("executive") if w["type"] == "trend")
    content = client.get(
        f"/dashboard/widgets/{trend['id']}/?range=last_90_days", **HX
    ).content.decode()

    assert f'<script id="fig-{trend["id"]}" type="application/json">' in content
    # First paint: the server's SVG, named by its title and described by the summary.
    assert f'role="img" aria-labelledby="svg-wide-{trend["id"]}-t svg-wide-{trend["id"]}-d"' in (
        content
    )
    assert f'<desc id="svg-wide-{trend["id"]}-d">Revenue by week' in content
    assert 'data-summary="Revenue by week' in content
    assert "<table>" in content and "<caption>Revenue by week</caption>" in content
    first = series["points"][0]
    assert f"bucket={first['date']}&amp;interval=week" in content
    assert format_value(first["value"], "aud_cents")[0] in html.unescape(content)


@pytest.mark.parametrize("widget_type", ["pipeline_by_stage", "installations", "warranty_claims"])
def test_every_chart_builds_from_real_data(client, owner, history, widget_type):
    login(client, owner)
    found = next(w for w in default_widgets("executive") if w["type"] == widget_type)
    content = client.get(
        f"/dashboard/widgets/{found['id']}/?range=last_90_days", **HX
    ).content.decode()
    assert "state-error" not in content
    assert 'data-figure="fig-' in content
    assert "/dashboard/drill/" in content


def test_pipeline_chart_matches_the_pipeline_value_metric(owner, history):
    state = parse_state({"range": "last_30_days"}, owner.organization)
    ctx = widgets.WidgetContext(owner.organization, owner, state, {})
    data = build_pipeline_by_stage(ctx)
    bars = data["figure"]["data"][0]["y"]
    total_cents = round(sum(bars) * 100)
    assert (
        total_cents == get_metrics(owner.organization, state)["metrics"]["pipeline_value"]["value"]
    )


def test_widgets_of_an_empty_organisation_show_empty_states(client, owner):
    login(client, owner)
    trend = next(w for w in default_widgets("executive") if w["type"] == "trend")
    content = client.get(f"/dashboard/widgets/{trend['id']}/", **HX).content.decode()
    assert "state-empty" in content
    assert "No revenue in" in content


def test_a_failing_widget_renders_its_error_state_with_retry(client, owner, monkeypatch):
    def explode(ctx):
        raise RuntimeError("database on fire")

    spec = widgets.CATALOGUE["trend"]
    monkeypatch.setitem(
        widgets.CATALOGUE, "trend", widgets.WidgetType(**{**spec.__dict__, "build": explode})
    )
    widget = next(w for w in default_widgets("executive") if w["type"] == "trend")
    response = login(client, owner).get(f"/dashboard/widgets/{widget['id']}/", **HX)
    content = response.content.decode()

    assert response.status_code == 200
    assert "state-error" in content and 'role="alert"' in content
    assert ">Retry</button>" in content
    assert "database on fire" not in content


def test_failing_kpi_cards_render_their_error_state_and_the_page_still_renders(
    client, owner, monkeypatch
):
    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(kpi_widgets, "get_metrics", explode)
    kpis = [w for w in default_widgets("executive") if w["type"] == "kpi"]
    response = login(client, owner).get("/dashboard/")
    content = response.content.decode()

    assert response.status_code == 200
    assert content.count('class="state state-error" role="alert"') == len(kpis)
    for widget in kpis:  # each card retries on its own
        assert f'hx-get="/dashboard/widgets/{widget["id"]}/?' in content
    assert "database on fire" not in content
    assert 'hx-trigger="load' not in content  # the other widgets came with the page
    assert content.count('class="widget-head"') >= 4  # the charts, the feed, insights


def test_unknown_widget_ids_are_a_404(client, owner):
    response = login(client, owner).get("/dashboard/widgets/" + "0" * 32 + "/", **HX)
    assert response.status_code == 404


def test_to_date_ranges_are_marked(client, owner, history):
    login(client, owner)
    widget = default_widgets("executive")[0]
    content = client.get(f"/dashboard/widgets/{widget['id']}/?range=this_month", **HX)
    assert "badge-todate" in content.content.decode()
    content = client.get(f"/dashboard/widgets/{widget['id']}/?range=last_month", **HX)
    assert "badge-todate" not in content.content.decode()


# --- Activity feed -----------------------------------------------------------------------


def make_activity(org, user, *, minutes_ago, kind="call", subject="Called"):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return Activity.objects.create(
        organization=org, user=user, kind=kind, subject=subject, occurred_at=at, created_at=at
    )


def test_feed_is_newest_first_scoped_to_the_organisation_and_paginates(client, owner, outsider):
    for i in range(20):
        make_activity(owner.organization, owner, minutes_ago=i + 1, subject=f"Ours {i}")
    make_activity(outsider.organization, outsider, minutes_ago=0, subject="Theirs")
    login(client, owner)

    first = client.get(reverse("dashboard-activity"), **HX).content.decode()
    subjects = re.findall(r'feed-subject">([^<]+)<', first)
    assert subjects == [f"Ours {i}" for i in range(widgets.FEED_PAGE_SIZE)]
    assert "Theirs" not in first
    more = html.unescape(re.search(r'hx-get="([^"]*before=[^"]*)"', first).group(1))
    assert 'hx-trigger="intersect once, click"' in first

    second = client.get(more, **HX).content.decode()
    assert re.findall(r'feed-subject">([^<]+)<', second) == [f"Ours {i}" for i in range(15, 20)]
    assert "before=" not in second  # the end


def test_feed_filters_by_kind_and_polls_for_newer_rows(client, owner):
    make_activity(owner.organization, owner, minutes_ago=10, kind="email", subject="Mail")
    make_activity(owner.organization, owner, minutes_ago=5, kind="call", subject="Ring")
    login(client, owner)

    emails = client.get(reverse("dashboard-activity") + "?kind=email", **HX).content.decode()
    assert re.findall(r'feed-subject">([^<]+)<', emails) == ["Mail"]
    poll = html.unescape(re.search(r'hx-get="([^"]*after=[^"]*)"', emails).group(1))

    make_activity(owner.organization, owner, minutes_ago=1, kind="email", subject="Newer mail")
    make_activity(owner.organization, owner, minutes_ago=1, kind="note", subject="Not mail")
    newer = client.get(poll, **HX).content.decode()
    assert re.findall(r'feed-subject">([^<]+)<', newer) == ["Newer mail"]


def test_technicians_see_only_their_own_activity(client, users_by_role):
    technician, sales = users_by_role["technician"], users_by_role["sales"]
    org = technician.organization
    make_activity(org, technician, minutes_ago=3, kind="site_visit", subject="My visit")
    make_activity(org, sales, minutes_ago=2, subject="Sales call")
    content = login(client, technician).get(reverse("dashboard-activity"), **HX)
    subjects = re.findall(r'feed-subject">([^<]+)<', content.content.decode())
    assert subjects == ["My visit"]


def test_malformed_feed_cursors_are_ignored(client, owner):
    make_activity(owner.organization, owner, minutes_ago=1)
    response = login(client, owner).get(
        reverse("dashboard-activity") + "?before=garbage&after=2026-13-99~x", **HX
    )
    assert response.status_code == 200


# --- Technician's jobs -------------------------------------------------------------------


def test_my_jobs_lists_the_technicians_own_open_jobs(client, users_by_role):
    technician = users_by_role["technician"]
    org = technician.organization
    other_tech = make_user(org, Role.TECHNICIAN, email="other-tech@renoz.test")
    customer = Customer.objects.create(
        organization=org, name="Solar Farm", kind="commercial", state="NSW"
    )
    order = Order.objects.create(
        organization=org,
        customer=customer,
        number="SO-1",
        status="confirmed",
        ordered_at=timezone.now(),
        total_cents=1,
    )
    soon = timezone.now() + dt.timedelta(days=1)

    def job(tech, status, name):
        cust = Customer.objects.create(organization=org, name=name, kind="commercial", state="NSW")
        return InstallationJob.objects.create(
            organization=org,
            order=order,
            customer=cust,
            technician=tech,
            status=status,
            scheduled_for=soon,
            kwh=Decimal("13.50"),
            completed_at=timezone.now() if status == "completed" else None,
        )

    job(technician, "scheduled", "Mine scheduled")
    job(technician, "in_progress", "Mine in progress")
    job(technician, "completed", "Mine done")
    job(other_tech, "scheduled", "Someone else's")

    layout, _own = get_layout(technician)
    assert [w["type"] for w in layout] == ["kpi", "kpi", "my_jobs", "activity_feed"]
    my_jobs = next(w for w in layout if w["type"] == "my_jobs")
    content = login(client, technician).get(f"/dashboard/widgets/{my_jobs['id']}/", **HX)
    customers = re.findall(r'job-customer">([^<]+)<', content.content.decode())
    assert sorted(customers) == ["Mine in progress", "Mine scheduled"]
    assert "13.5 kWh" in content.content.decode()


# --- Formatting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "short", "exact"),
    [
        (123_456_789, "aud_cents", "$1.23M", "$1,234,567.89 AUD"),
        (1_234_567, "aud_cents", "$12,346", "$12,345.67 AUD"),
        (250_000_000_000, "aud_cents", "$2.50B", "$2,500,000,000.00 AUD"),
        (-5_000, "aud_cents", "-$50", "-$50.00 AUD"),
        (12345.678, "kwh", "12,345.7 kWh", "12,345.68 kWh"),
        (42.25, "kwh", "42.3 kWh", "42.25 kWh"),
        (0.4567, "ratio", "45.7%", "45.67%"),
        (1234, "count", "1,234", "1,234"),
        (312.5, "hours", "312.5 h", "312.50 hours"),
        (None, "aud_cents", "—", "No data"),
    ],
)
def test_values_are_formatted_for_people(value, unit, short, exact):
    assert format_value(value, unit) == (short, exact)


def test_ratio_changes_are_shown_in_points():
    entry = {"change": 0.0425, "change_pct": 12.1}
    assert format_change(entry, "ratio") == "4.3 pts"
    assert format_change({"change": 500, "change_pct": None}, "count") == "500"


@pytest.mark.parametrize("compare", ["previous_period", "previous_year"])
def test_every_trend_point_drills_to_rows_adding_up_to_it(client, owner, history, compare):
    """Both lines of the trend chart, current and comparison, open the rows behind each point."""
    state = parse_state({"range": "last_90_days", "compare": compare}, owner.organization)
    ctx = widgets.WidgetContext(owner.organization, owner, state, {"metric": "revenue"})
    traces = build_trend(ctx)["figure"]["data"]
    # This period's finished weeks, its running week ("so far"), and the comparison.
    assert [t.get("name") for t in traces][1] == "So far"
    assert len(traces) == 3
    login(client, owner)
    checked = 0
    for trace in traces:
        for y, point in zip(trace["y"], trace["customdata"], strict=True):
            url = point[0]
            if not url or y is None:
                continue
            response = client.get(url)
            assert response.status_code == 200, url
            assert round((y or 0) * 100) == response.context["summary"].value
            checked += 1
    assert checked >= 2 * 12  # weekly buckets over 90 days, on both lines
