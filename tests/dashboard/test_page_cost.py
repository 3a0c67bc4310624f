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
from urllib.parse import parse_qsl

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
from presentation.widgets import kpis
from targets.models import Target
from tests.conftest import make_user
from tests.dashboard.factories import build_history
from tests.targets.helpers import local

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
METRIC_TABLES = re.compile(r"daily_|metric_events_|dashboard_viewrefresh|targets_target")
NOW = local(2026, 11, 20, 12)
ROLES = {
    "executive": Role.ADMIN,
    "pipeline": Role.SALES,
    "installations": Role.OPERATIONS,
    "my_jobs": Role.TECHNICIAN,
}
# The most statements a page may run: {layout: (cold, cached)}. The page carries every widget
# (issue 25: one request), computed in one pass that reads the coverage, the data versions and
# each source's history versions once. Cold means the organisation's cache was dropped whole
# (closed-day blocks too); after a write to today, closed days come from the cache and only
# tails are read (see test_a_page_after_a_write_reads_only_the_open_tail). Time is pinned, so
# the counts are exact. What the executive page's 16 cold statements are: coverage 1; the KPI
# cards' metrics 5, one per source (sales, pipeline, jobs, customers, warranty: its closed
# days from the summary and its open tail from the event view in one statement); targets 5
# (the targets 1; the target month with last year's same days and last year's whole month in
# one read of each of the four sources); charts 4 (revenue trend, pipeline by stage,
# installations, sales by category; warranty shares the cards' read); the feed 1. Insights
# read none: the page never computes findings (they are stored, or queued:
# tests/dashboard/test_page_reads.py). A cached page reads the feed, the hidden findings and
# the owner choices from the cache too: no statement, but a technician's open jobs (1).
BUDGETS = {
    "executive": (16, 0),
    "pipeline": (12, 0),
    "installations": (7, 0),
    "my_jobs": (5, 1),
}
# What the request context adds when Redis was emptied: session, user with organisation,
# layout, and the cards the user follows (alerts.queries.followed_cards), each read once; the
# owner filter's choices (not a technician's page); the findings the user hid (a page with
# insights); and the page's annotations, one read for every chart (the world's targets added
# some; tests/annotations/test_budget.py has the page with and without).
EMPTIED_REDIS = {"executive": 7, "pipeline": 6, "installations": 6, "my_jobs": 4}
WHOLE_PAGE_COLD, WHOLE_PAGE_CACHED = 30, 1


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


def fragments(page) -> list[str]:
    """The URL of each fragment the page would load by itself (hx-trigger "load")."""
    return [
        html.unescape(url)
        for url in re.findall(
            r'hx-get="([^"]*)"[^>]*\s+hx-trigger="(?:[^"]*,\s*)?load', page.content.decode()
        )
    ]


def browse(client, layout: str) -> list[tuple[str, list[str]]]:
    """The page as a browser loads it: (request, its SQL) for the page and for each fragment
    it loads by itself (none: the page carries every widget)."""
    with CaptureQueriesContext(connection) as page_sql:
        page = client.get("/dashboard/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "state-error" not in body
    out = [("page", [q["sql"] for q in page_sql.captured_queries])]
    for url in fragments(page):
        with CaptureQueriesContext(connection) as fragment_sql:
            response = client.get(url, **HX)
        assert response.status_code == 200, url
        out.append((url, [q["sql"] for q in fragment_sql.captured_queries]))
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


def _cost(requests) -> str:
    return "\n  ".join(
        f"{name}: {len(sql)}\n    " + "\n    ".join(q[:160] for q in sql) for name, sql in requests
    )


@pytest.mark.parametrize("how", ["changed", "emptied"])
def test_a_cold_page_is_one_request_within_its_budget(signed_in, org, layout, how):
    go_cold(org, how)
    requests = browse(signed_in, layout)
    assert [name for name, _ in requests] == ["page"], "the page loads no widget by itself"
    budget = BUDGETS[layout][0] + (EMPTIED_REDIS[layout] if how == "emptied" else 0)
    assert len(requests[0][1]) <= budget, _cost(requests)


def test_a_cached_page_is_one_request_within_its_budget(signed_in, layout):
    requests = browse(signed_in, layout)
    assert [name for name, _ in requests] == ["page"]
    assert len(requests[0][1]) <= BUDGETS[layout][1], _cost(requests)
    # Only per-user reads remain: no metric table, summary or target is read.
    assert not [q for q in requests[0][1] if METRIC_TABLES.search(q)], _cost(requests)


def test_a_cached_page_reads_every_fragment_in_one_round_trip(signed_in, layout, monkeypatch):
    reads = []
    real = metric_cache.get_fragments
    monkeypatch.setattr(
        metric_cache,
        "get_fragments",
        lambda keys, counted=True: reads.append((keys, counted)) or real(keys, counted=counted),
    )
    signed_in.get("/dashboard/")
    shared = [keys for keys, counted in reads if counted]
    assert len(shared) == 1
    stats = metric_cache.cache_stats()
    assert stats["fragment_hits"] >= len([k for k in shared[0] if k])
    # The per-user bodies kept by their content (the activity feed, insights): one more
    # round trip for all of them, on the layouts that show one.
    personal = [keys for keys, counted in reads if not counted]
    kinds = [w["type"] for w in default_widgets(layout)]
    shown = kinds.count("activity_feed") + kinds.count("insights")
    assert [len(keys) for keys in personal] == ([shown] if shown else [])


def _whole_page(client, layout) -> int:
    return sum(len(sql) for _name, sql in browse(client, layout))


def test_a_whole_cached_page_costs_at_most_1_statement(signed_in, layout):
    assert _whole_page(signed_in, layout) <= WHOLE_PAGE_CACHED


@pytest.mark.parametrize("layout", list(ROLES))
def test_a_whole_cold_page_costs_at_most_30_statements(signed_in, org, layout):
    go_cold(org, "changed")
    assert _whole_page(signed_in, layout) <= WHOLE_PAGE_COLD


def test_no_statement_runs_twice_in_one_page(client, world, org):
    """The page's widgets share one pass: the same read is never made twice."""
    for layout, user in world.items():
        client.force_login(user)
        metric_cache.bump_data_version(org.pk)
        ((_, sql),) = browse(client, layout)
        repeated = [s[:160] for s, n in Counter(sql).items() if n > 1]
        assert not repeated, f"{layout} ran these more than once: {repeated}"


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


def test_a_page_whose_values_expired_reads_each_open_tail_once(client, world, org):
    """The usual morning: a write to today to every source drops every value, and the closed
    days stay cached. Every read of a source's today (the cards' range and since-ever
    windows, targets' month, a chart's daily series) shares one read of its open tail, so the
    executive page reads each event view once: the cards' five sources and sales by
    category's finer grain in one statement (metrics.engine.read_sources, with the reads the
    charts' payloads noted: metrics.engine.expect), and the feed's activities (its own
    query). Compared with last year, targets' last-year days to date are the cards'
    comparison too (against the previous period targets read theirs in one more statement)."""
    client.force_login(world["executive"])
    path = "/dashboard/?range=this_month&compare=previous_year"
    client.get(path)
    today = timezone.localdate(NOW, timezone=org.tz)
    for source in metric_cache.SOURCES:
        metric_cache.note_write(org.pk, source, {today}, today)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    views = Counter(v for q in sql for v in set(re.findall(r"FROM (metric_events_\w+)", q)))
    assert len(views) == 6 and set(views.values()) == {1}, _cost([("page", sql)])
    assert not [q for q in sql if "daily_" in q], _cost([("page", sql)])
    # The cards' five tails with sales by category's grain (1), the targets (1), the feed (1):
    # 4 before the charts' reads were made with the cards'.
    assert len(sql) == 3, _cost([("page", sql)])


def test_the_kpi_cards_share_one_metrics_computation(client, world, org, monkeypatch):
    calls = []
    real = kpis.get_metrics
    monkeypatch.setattr(kpis, "get_metrics", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    client.force_login(world["executive"])
    metric_cache.bump_data_version(org.pk)
    response = client.get("/dashboard/")

    assert len(re.findall(r'data-metric="[a-z_]+" data-value="', response.content.decode())) == 9
    assert len(calls) == 1  # nine cards, one payload


def test_warming_leaves_every_default_page_nothing_to_compute(client, world, org):
    states = common_states(org, presets=("this_month",), compares=("previous_period",))
    warm_organization(org, presets=("this_month",), compares=("previous_period",))
    warm_widgets(org, states)
    for layout in ("executive", "pipeline", "installations"):
        client.force_login(world[layout])
        client.get("/dashboard/?range=this_month&compare=previous_period")  # request context
        with CaptureQueriesContext(connection) as sql:
            response = client.get("/dashboard/?range=this_month&compare=previous_period")
        # Every widget is inline: nothing loads itself.
        assert response.content.decode().count(" data-loading") == 0
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


# Redis round trips of a cached page, its findings stored (docs/scaling.md, "Issue 25, fourth
# stop"), exactly: the session; the user, their organisation and the page's request context
# (layout included); the data versions; the shared fragments; the feed's rows; the per-user
# bodies (the feed, and insights keyed ahead where the layout has them). The third stop's
# executive page made 12.
CACHED_ROUND_TRIPS = {"executive": 6, "pipeline": 6, "installations": 6, "my_jobs": 6}


@pytest.fixture
def round_trips(monkeypatch) -> list[bytes]:
    """Every command (or pipeline) sent to Redis, as one round trip each."""
    import redis.connection

    sent: list[bytes] = []
    real = redis.connection.Connection.send_packed_command
    monkeypatch.setattr(
        redis.connection.Connection,
        "send_packed_command",
        lambda self, command, check_health=True: (
            sent.append(command) or real(self, command, check_health)
        ),
    )
    return sent


@pytest.mark.parametrize("query", ["", "?range=last_month&compare=previous_period"])
def test_a_cached_page_makes_few_redis_round_trips(signed_in, world, layout, round_trips, query):
    """The same round trips whether the page reaches today or reads only closed days (last
    month: each widget's key carries its measures' closed-day write counts, read for every
    widget of the page at once, metrics.cache.load_histories)."""
    from insights.tasks import store_findings_for

    user = world[layout]
    params = dict(parse_qsl(query.lstrip("?")))
    store_findings_for(user.organization_id, user.pk, params)  # what the page queued: the worker
    signed_in.get(f"/dashboard/{query}")  # builds the stored findings' body once
    round_trips.clear()
    assert signed_in.get(f"/dashboard/{query}").status_code == 200
    assert len(round_trips) <= CACHED_ROUND_TRIPS[layout], "\n".join(map(_said, round_trips))


def _said(command) -> str:
    """A round trip's commands and first key, for the assertion's message."""
    blob = b"".join(command) if isinstance(command, list) else bytes(command)
    words = blob.split(b"\r\n")
    return " ".join(w.decode(errors="replace")[-48:] for w in words[2:9:2])
