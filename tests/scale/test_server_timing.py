"""Server-Timing: off by default; on, every response says its app time, database time and
query count, and the count is the number of statements the request really ran."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from infra.server_timing import QueryTimer, header_value

pytestmark = pytest.mark.django_db
HEADER = re.compile(
    r'^app;dur=(\d+\.\d), db;dur=(\d+\.\d);desc="(\d+) queries"((?:, [a-z_]+;dur=\d+\.\d)*)$'
)


def _timing(response) -> tuple[float, float, int]:
    match = HEADER.match(response["Server-Timing"])
    assert match, response["Server-Timing"]
    return float(match[1]), float(match[2]), int(match[3])


def test_off_by_default():
    assert "Server-Timing" not in Client().get("/healthz").headers


@override_settings(SERVER_TIMING=True)
def test_counts_no_query_for_liveness_and_one_for_readiness():
    client = Client()  # built after the override: its handler loads the middleware
    app_ms, db_ms, queries = _timing(client.get("/healthz"))
    assert (db_ms, queries) == (0.0, 0)
    assert app_ms >= 0
    # /readyz for an anonymous caller runs exactly one statement: SELECT 1.
    app_ms, db_ms, queries = _timing(client.get("/readyz"))
    assert queries == 1
    assert 0 <= db_ms <= app_ms


@override_settings(SERVER_TIMING=True)
def test_counts_every_statement_of_a_signed_in_page(owner):
    client = Client()
    client.force_login(owner)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dashboard/")
    assert response.status_code == 200
    app_ms, db_ms, queries = _timing(response)
    assert queries == len(captured.captured_queries) > 0
    assert 0 < db_ms <= app_ms
    # The dashboard names the time of each widget kind it computed, within the request's.
    sections = dict(
        (name, float(ms))
        for name, ms in re.findall(
            r", ([a-z_]+);dur=(\d+\.\d)", response["Server-Timing"].partition('queries"')[2]
        )
    )
    assert {"kpis", "insights", "trend"} <= set(sections)
    assert sum(sections.values()) <= app_ms
    # Errors are timed too (the request context comes from Redis, so maybe with no statement).
    with CaptureQueriesContext(connection) as captured:
        error = client.get("/dashboard/?range=nonsense")
    assert error.status_code == 400
    app_ms, db_ms, queries = _timing(error)
    assert queries == len(captured.captured_queries) and app_ms > 0


def test_query_timer_counts_each_execute():
    timer = QueryTimer()
    with connection.execute_wrapper(timer), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute("SELECT pg_sleep(0.01)")
    assert timer.count == 2
    assert timer.seconds >= 0.01
    assert header_value(0.0123, timer).startswith("app;dur=12.3, db;dur=")
