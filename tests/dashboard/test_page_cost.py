"""What a dashboard page costs in SQL: the page and each widget fragment it loads, cold and
cached, for each role's default layout; and the whole page, as a browser loads it.

Cold is measured twice: after a data change (the organisation's data version bumped: every
number recomputed, the request context still in Redis) and with Redis emptied (the session,
user and layout read from the database again too). Views are refreshed, and the month has
targets for the demo's four target metrics, so the counts are those of a real organisation.
"""

from __future__ import annotations

import html
import re
from collections import Counter

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from dashboard.layouts import ROLE_LAYOUT, default_widgets, warm_widgets
from metrics import cache as metric_cache
from metrics.refresh import refresh_summaries
from metrics.warming import common_states, warm_organization
from presentation import widgets
from presentation.widgets import kpis
from targets.models import Target
from tests.conftest import make_user
from tests.dashboard.factories import build_history
from tests.targets.helpers import local

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
NOW = local(2026, 11, 20, 12)
ROLES = {
    "executive": Role.ADMIN,
    "pipeline": Role.SALES,
    "installations": Role.OPERATIONS,
    "my_jobs": Role.TECHNICIAN,
}
# The most statements each request may run: {layout: {request: (cold, cached)}}. "page" is the
# page with its KPI cards: one metrics payload (coverage, then per source one summary read of
# the closed days and one live read of the open tail) and one targets read. The others are the
# fragments it loads. Cold means the organisation's cache was dropped whole (closed-day blocks
# too); after a write to today, closed days come from the cache and only tails are read (see
# test_a_page_after_a_write_reads_only_the_open_tail). Time is pinned, so the counts are exact;
# the same page cost 203 / 116 / 83 / 39 statements cold before the KPI cards were computed
# together, the request context cached and reads shared within a computation (18 / 12 / 12 /
# 18 cached).
BUDGETS = {
    "executive": {
        "page": (29, 1),  # KPIs (every metric: insights reads the same payload) 15 + targets 13
        "insights": (25, 1),
        "trend": (3, 0),
        "sales_by_category": (3, 0),
        "pipeline_by_stage": (1, 0),
        "installations": (3, 0),
        "warranty_claims": (1, 0),
        "activity_feed": (1, 1),
    },
    "pipeline": {
        "page": (20, 1),  # KPIs (four sources) 9 + targets 10
        "pipeline_by_stage": (1, 0),
        "trend": (3, 0),
        "activity_feed": (1, 1),
    },
    "installations": {
        "page": (9, 1),  # KPIs (jobs) 3 + targets 5
        "installations": (3, 0),
        "warranty_claims": (3, 0),
        "activity_feed": (1, 1),
    },
    "my_jobs": {
        "page": (3, 0),  # their own numbers, live: coverage, one read; personal targets 1
        "my_jobs": (1, 1),
        "activity_feed": (1, 1),
    },
}
# What the request context adds when Redis was emptied: session, user with organisation,
# layout, each read once and cached for the fragments.
EMPTIED_REDIS = 3
WHOLE_PAGE_COLD, WHOLE_PAGE_CACHED = 30, 12


@pytest.fixture
def world(org, time_machine):
    time_machine.move_to(NOW, tick=False)
    users = {name: make_user(org, role) for name, role in ROLES.items()}
    build_history(
        org,
        now=NOW,
        days=120,
        n_orders=80,
        n_opps=60,
        n_jobs=40,
        n_claims=20,
        n_customers=20,
        n_activities=40,
        technician=users["my_jobs"],
    )
    refresh_summaries()
    for metric, value in (
        ("revenue", 40_000_000),
        ("kwh_deployed", 900),
        ("quote_win_rate", "0.38"),
        ("new_customers", 6),
    ):
        Target.objects.create(
            organization=org,
            metric=metric,
            period_kind="month",
            period_start=NOW.date().replace(day=1),
            value=value,
        )
    return users


def fragments(page, layout: str) -> list[tuple[str, str]]:
    """(widget type, URL) of each fragment the page loads itself, in page order."""
    types = {w["id"]: w["type"] for w in default_widgets(layout)}
    found = re.findall(
        r'hx-get="/dashboard/widgets/([0-9a-f]{32})/([^"]*)"[^>]*\s+hx-trigger="load',
        page.content.decode(),
    )
    return [(types[wid], f"/dashboard/widgets/{wid}/{html.unescape(q)}") for wid, q in found]


def browse(client, layout: str) -> list[tuple[str, list[str]]]:
    """The page, then every fragment it loads, as a browser would: (request, its SQL) each."""
    with CaptureQueriesContext(connection) as page_sql:
        page = client.get("/dashboard/")
    assert page.status_code == 200
    out = [("page", [q["sql"] for q in page_sql.captured_queries])]
    for widget_type, url in fragments(page, layout):
        with CaptureQueriesContext(connection) as fragment_sql:
            response = client.get(url, **HX)
        assert response.status_code == 200, url
        assert "state-error" not in response.content.decode(), url
        out.append((widget_type, [q["sql"] for q in fragment_sql.captured_queries]))
    return out


def go_cold(org, how: str) -> None:
    if how == "emptied":
        cache.clear()
    else:
        metric_cache.bump_data_version(org.pk)


@pytest.fixture(params=ROLES)
def layout(request):
    return request.param


@pytest.fixture
def signed_in(client, world, layout):
    user = world[layout]
    assert ROLE_LAYOUT[user.role] == layout
    client.force_login(user)
    browse(client, layout)  # once, so "cold" below is a second visit after a change
    return client


def _over_budget(requests, budgets, column: int, extra: dict) -> list[str]:
    return [
        f"{name}: {len(sql)} statements, budget {budgets[name][column] + extra.get(name, 0)}\n  "
        + "\n  ".join(s[:160] for s in sql)
        for name, sql in requests
        if len(sql) > budgets[name][column] + extra.get(name, 0)
    ]


@pytest.mark.parametrize("how", ["changed", "emptied"])
def test_each_request_of_a_cold_page_stays_within_its_budget(signed_in, org, layout, how):
    go_cold(org, how)
    requests = browse(signed_in, layout)
    assert sorted(name for name, _ in requests) == sorted(BUDGETS[layout])
    extra = {"page": EMPTIED_REDIS} if how == "emptied" else {}
    assert not _over_budget(requests, BUDGETS[layout], 0, extra)


def test_each_request_of_a_cached_page_stays_within_its_budget(signed_in, layout):
    requests = browse(signed_in, layout)
    # Cached charts come inline with the page: only per-user widgets are fragments.
    per_user = {n for n, w in widgets.CATALOGUE.items() if w.per_user}
    assert {name for name, _ in requests} - {"page"} <= per_user
    assert not _over_budget(requests, BUDGETS[layout], 1, {})


def _whole_page(client, layout) -> int:
    return sum(len(sql) for _name, sql in browse(client, layout))


def test_a_whole_cached_page_costs_at_most_12_statements(signed_in, layout):
    assert _whole_page(signed_in, layout) <= WHOLE_PAGE_CACHED


OVER_COLD_BUDGET = {
    "executive": "with the whole cache dropped, the KPI payload, the targets and insights each "
    "read every source's summary and open tail (61 statements)",
}


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=OVER_COLD_BUDGET[name]))
        if name in OVER_COLD_BUDGET
        else name
        for name in ROLES
    ],
)
def test_a_whole_cold_page_costs_at_most_30_statements(signed_in, org, layout):
    go_cold(org, "changed")
    assert _whole_page(signed_in, layout) <= WHOLE_PAGE_COLD


READ_TWICE: set[str] = set()


def test_no_statement_runs_twice_in_one_widget_request(client, world, org):
    seen = set()
    for layout, user in world.items():
        client.force_login(user)
        metric_cache.bump_data_version(org.pk)
        for name, sql in browse(client, layout)[1:]:
            if name in seen or name in READ_TWICE:
                continue
            seen.add(name)
            repeated = [s[:160] for s, n in Counter(sql).items() if n > 1]
            assert not repeated, f"{name} ran these more than once: {repeated}"
    assert seen == {
        "trend",
        "sales_by_category",
        "pipeline_by_stage",
        "warranty_claims",
        "activity_feed",
        "my_jobs",
        "insights",
        "installations",
    }


@pytest.mark.parametrize("widget_type", ["insights", "installations"])
def test_no_statement_runs_twice_in_the_two_series_widgets(client, world, org, widget_type):
    """Reads within one computation are shared: two series of one source read it once."""
    client.force_login(world["executive"])
    metric_cache.bump_data_version(org.pk)
    sql = dict(browse(client, "executive"))[widget_type]
    assert not [s for s, n in Counter(sql).items() if n > 1]


@pytest.mark.parametrize("layout", list(ROLES))
def test_a_page_after_a_write_reads_only_the_open_tail(signed_in, org, layout):
    """A write to today drops the values of its source, not their closed days: the page reads
    that source's open tail again (one statement per read of it) and nothing else."""
    today = timezone.localdate(NOW, timezone=org.tz)
    metric_cache.note_write(org.pk, "sales", {today}, today)
    requests = browse(signed_in, layout)
    everything = [q for _, sql in requests for q in sql]
    assert not [q for q in everything if "daily_" in q or "dashboard_viewrefresh" in q]
    assert _whole_page(signed_in, layout) <= WHOLE_PAGE_CACHED  # and then it is cached again
    assert len(everything) <= WHOLE_PAGE_COLD


def test_the_kpi_cards_share_one_metrics_computation(client, world, org, monkeypatch):
    calls = []
    real = kpis.get_metrics
    monkeypatch.setattr(kpis, "get_metrics", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    client.force_login(world["executive"])
    metric_cache.bump_data_version(org.pk)
    response = client.get("/dashboard/")

    assert len(re.findall(r'data-metric="[a-z_]+" data-value="', response.content.decode())) == 9
    assert len(calls) == 1  # nine cards, one payload (the one the insights widget reads too)


METRIC_TABLES = re.compile(r"daily_|metric_events_|dashboard_viewrefresh|targets_target")


def test_warming_leaves_every_default_page_nothing_to_compute(client, world, org):
    states = common_states(org, presets=("this_month",), compares=("previous_period",))
    warm_organization(org, presets=("this_month",), compares=("previous_period",))
    warm_widgets(org, states)
    for layout in ("executive", "pipeline", "installations"):
        client.force_login(world[layout])
        client.get("/dashboard/?range=this_month&compare=previous_period")  # request context
        with CaptureQueriesContext(connection) as sql:
            response = client.get("/dashboard/?range=this_month&compare=previous_period")
        # Every card and chart is inline; only the per-user widgets load themselves.
        per_user = [w for w in default_widgets(layout) if widgets.CATALOGUE[w["type"]].per_user]
        assert response.content.decode().count(" data-loading") == len(per_user)
        metric_sql = [q["sql"] for q in sql.captured_queries if METRIC_TABLES.search(q["sql"])]
        assert not metric_sql, (layout, metric_sql)


def test_the_cached_layout_follows_every_layout_change(client, world, org):
    from dashboard import layouts
    from dashboard.models import DashboardLayout

    sales = world["pipeline"]
    client.force_login(sales)
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as sql:
        client.get("/dashboard/")
    assert not [q for q in sql.captured_queries if "dashboard_dashboardlayout" in q["sql"]]

    # An organisation's default for the role, saved by an administrator, shows at once...
    DashboardLayout.objects.create(
        organization=org, role=Role.SALES, widgets=default_widgets("installations")
    )
    assert "Labour hours" in client.get("/dashboard/").content.decode()
    # ...and so does the user's own edit.
    layouts.do_add_widget(sales, "kpi", {"metric": "warranty_claims"})
    assert 'data-metric="warranty_claims"' in client.get("/dashboard/").content.decode()
    layouts.do_reset_layout(sales)
    assert 'data-metric="warranty_claims"' not in client.get("/dashboard/").content.decode()
