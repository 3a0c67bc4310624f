"""Insights follow the dashboard's filters and the user's scope (the QLD-filtered finding is the
QLD-filtered card; a technician's is their own card), are ranked by severity and money at
stake, and are stored: a second read of closed-day findings runs no SQL, and a write to one of
their days brings the new answer.

Every expected number is worked out by hand from the rows below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.layouts import default_widgets
from insights.actions import do_dismiss_finding
from insights.findings import EVERYTHING, Finding, scope_for
from insights.findings.ranking import rank
from insights.queries import findings_for, stored_findings
from metrics.periods import parse_state
from metrics.refresh import rebuild_summary
from metrics.tasks import refresh_summaries
from metrics.warming import common_states
from operations.models import Order
from tests.insights.builders import (
    NOW,
    SYDNEY,
    customers,
    qld_and_nsw_orders,
    technician_jobs,
)

SEPTEMBER = {"from": "2025-09-01", "to": "2025-09-30", "compare": "previous_period"}
QS = urlencode(SEPTEMBER)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def states(org):
    return qld_and_nsw_orders(org)


def _by_id_prefix(findings, prefix):
    return [f for f in findings if f.id.startswith(prefix)]


@pytest.mark.django_db
def test_the_qld_filtered_finding_is_the_qld_filtered_card(states, owner):
    client = client_for(owner)
    payload = client.get(f"/api/dashboard/insights?{QS}&state=QLD").json()

    revenue = next(f for f in payload["findings"] if f["id"].startswith("change:revenue:"))
    assert (revenue["value"], revenue["previous"]) == (3_000_000, 1_000_000)
    assert revenue["title"] == "Revenue up 200.0% to $30,000, from $10,000 in the previous period"
    assert revenue["id"].endswith("|state=QLD")
    assert revenue["period"]["state"] == "QLD"
    assert "state=QLD" in revenue["drill_url"]
    card = client.get(f"/api/dashboard/metrics?{QS}&state=QLD&metrics=revenue").json()
    assert card["metrics"]["revenue"]["value"] == revenue["value"]
    assert card["metrics"]["revenue"]["previous"] == revenue["previous"]
    assert payload["filters"] == {"state": "QLD"}

    # The whole organisation's revenue did not move: no change finding for it unfiltered.
    unfiltered = client.get(f"/api/dashboard/insights?{QS}").json()
    assert not any(f["id"].startswith("change:revenue:") for f in unfiltered["findings"])


@pytest.mark.django_db
def test_the_widget_says_the_filtered_figure_and_links_to_the_page(states, owner):
    widget = next(w for w in default_widgets("executive") if w["type"] == "insights")
    html = (
        client_for(owner)
        .get(f"/dashboard/widgets/{widget['id']}/?{QS}&state=QLD", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "Revenue up 200.0% to $30,000" in html
    assert "/dashboard/insights/?" + QS.replace("&", "&amp;") + "&amp;state=QLD" in html
    assert "insights API" not in html


@pytest.mark.django_db
def test_a_filter_that_cannot_narrow_a_source_leaves_its_findings_out_and_says_so(states, owner):
    # Product category narrows sales (by order item) and warranty claims, not installation
    # jobs: jobs findings are left out, not shown unfiltered; sales findings stay.
    payload = client_for(owner).get(f"/api/dashboard/insights?{QS}&category=battery").json()
    assert not any(f["metric"] in ("jobs_completed", "kwh_deployed") for f in payload["findings"])
    assert "jobs" in payload["not_covered"] and "sales" not in payload["not_covered"]
    page = client_for(owner).get(f"/dashboard/insights/?{QS}&category=battery").content.decode()
    assert "installation jobs" in page and "cannot be filtered by product category" in page


@pytest.fixture
def jobs(org):
    return technician_jobs(org)


@pytest.mark.django_db
def test_a_technicians_insight_is_their_own_card(jobs, owner):
    tech_client = client_for(jobs)
    payload = tech_client.get(f"/api/dashboard/insights?{QS}").json()
    assert payload["scope"] == "own"
    mine = next(f for f in payload["findings"] if f["id"].startswith("change:jobs_completed:"))
    assert (mine["value"], mine["previous"]) == (30, 10)
    card = tech_client.get(f"/api/dashboard/metrics?{QS}&metrics=jobs_completed").json()
    assert card["metrics"]["jobs_completed"]["value"] == 30
    assert card["metrics"]["jobs_completed"]["scope"] == "own"

    admin = client_for(owner).get(f"/api/dashboard/insights?{QS}").json()
    org_jobs = next(f for f in admin["findings"] if f["id"].startswith("change:jobs_completed:"))
    assert (org_jobs["value"], org_jobs["previous"]) == (40, 20)


def _finding(id_, kind, metric, score, *, at_stake=None, change_pct=None, times=None):
    facts = {"times_usual": times} if times is not None else {}
    return Finding(
        id=id_,
        kind=kind,
        metric=metric,
        title_format=id_,
        subjects=[],
        value=None,
        previous=None,
        change_pct=change_pct,
        score=score,
        drill_url="",
        period={},
        facts=facts,
        at_stake=at_stake,
    )


def test_ranking_is_severity_then_money_at_stake_then_size_of_change():
    activities = _finding("a", "change", "activities", 6.0, change_pct=112.6)
    target = _finding("t", "target_risk", "revenue", 3.5, at_stake=66_061_100)
    revenue = _finding("r", "change", "revenue", 4.0, at_stake=12_000_000, change_pct=40.0)
    orders = _finding("o", "change", "orders", 3.2, change_pct=180.0)
    big_medium = _finding("m", "concentration", "revenue", 2.0, at_stake=900_000_000)
    unusual = _finding("u", "unusual", "jobs_completed", 2.5, times=3.0)
    weak = _finding("w", "change", "quotes_won", 0.9, change_pct=15.0)

    ranked = rank([activities, orders, unusual, big_medium, weak, revenue, target])

    # High: money first, most at stake first ($660,611 > $120,000), then activities (+112.6 %)
    # after orders (+180 %); medium: money ($9M) before the unusual day (3× = +200 %); the
    # weak one (score < 1) is left out.
    assert [f.id for f in ranked] == ["t", "r", "o", "a", "m", "u"]
    assert [f.severity for f in ranked] == ["high"] * 4 + ["medium"] * 2


@pytest.mark.django_db
def test_a_second_read_of_stored_findings_runs_no_sql_and_a_closed_day_write_invalidates(
    states, owner, django_capture_on_commit_callbacks
):
    state = dataclasses.replace(
        parse_state(SEPTEMBER, states, now=NOW), filters=(("state", "QLD"),)
    )
    scope = scope_for(owner, state.filters)
    first = stored_findings(states, state, scope)
    revenue = _by_id_prefix(first, "change:revenue:")[0]
    assert revenue.value == 3_000_000

    with CaptureQueriesContext(connection) as queries:
        again = stored_findings(states, state, scope)
    assert len(queries) == 0
    assert [f.id for f in again] == [f.id for f in first]

    # A QLD order of $10,000 on Wed 10 Sep 2025 (a closed day): the stored findings go.
    with django_capture_on_commit_callbacks(execute=True):
        Order.objects.create(
            organization=states,
            customer=next(iter(customers(states, 1, state="QLD", prefix="Late"))),
            number="SO-LATE",
            status="confirmed",
            ordered_at=dt.datetime(2025, 9, 10, 11, tzinfo=SYDNEY),
            created_at=dt.datetime(2025, 9, 10, 11, tzinfo=SYDNEY),
            total_cents=1_000_000,
        )
    after = stored_findings(states, state, scope)
    assert _by_id_prefix(after, "change:revenue:")[0].value == 4_000_000  # $30,000 + $10,000


@pytest.mark.django_db
def test_findings_for_is_the_users_stored_findings_without_what_they_hid(states, owner):
    state = dataclasses.replace(
        parse_state(SEPTEMBER, states, now=NOW), filters=(("state", "QLD"),)
    )
    before = findings_for(states, owner, state)
    assert before
    do_dismiss_finding(owner, before[0].id, "dismissed")
    assert [f.id for f in findings_for(states, owner, state)] == [f.id for f in before[1:]]
    assert [f.id for f in findings_for(states, owner, state, hidden=True)] == [before[0].id]


@pytest.mark.django_db
def test_a_refresh_stores_the_findings_of_the_organisations_it_refreshed(
    states, django_capture_on_commit_callbacks
):
    rebuild_summary("daily_sales")  # the first population; then refreshes are incremental
    with django_capture_on_commit_callbacks(execute=True):
        Order.objects.create(
            organization=states,
            customer=customers(states, 1, prefix="Today")[0],
            number="SO-TODAY",
            status="confirmed",
            ordered_at=timezone.now(),
            total_cents=123_400,
        )
    refresh_summaries(["daily_sales"])  # eager in tests: the signal stores the findings

    state = common_states(states)[0]
    with CaptureQueriesContext(connection) as queries:
        stored_findings(states, state, EVERYTHING)
    assert len(queries) == 0
