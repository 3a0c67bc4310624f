"""Redis down, and refreshes under read: the dashboard keeps answering from the database."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from infra import contextcache
from metrics import cache as metric_cache
from metrics.definitions import METRICS
from metrics.periods import parse_state
from metrics.queries import get_metrics_comparison
from metrics.refresh import refresh_summaries
from renoz.settings import CACHE_SOCKET_TIMEOUT
from tests.dashboard.factories import build_history


def _cache_settings(location: str) -> dict:
    from django.conf import settings

    return {"default": {**settings.CACHES["default"], "LOCATION": location}}


@pytest.fixture
def blackhole():
    """A TCP port that accepts connections and never answers: the worst kind of dead Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture
def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db
@pytest.mark.parametrize("redis", ["blackhole", "closed_port"])
def test_api_answers_from_the_database_when_redis_is_down(request, client, owner, redis, settings):
    settings.HEALTH_TOKEN = "probe-token"
    build_history(owner.organization, now=timezone.now(), seed=3)
    refresh_summaries()
    state = parse_state({"range": "last_90_days"}, owner.organization)
    expected = get_metrics_comparison(owner.organization, state, list(METRICS))
    location = request.getfixturevalue(redis)
    with override_settings(CACHES=_cache_settings(location)):
        metric_cache.reset_breaker()
        client.force_login(owner)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get("/api/dashboard/metrics", {"range": "last_90_days"})
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
            body = response.json()
            assert {
                k: {f: v[f] for f in expected[k]} for k, v in body["metrics"].items()
            } == expected
        health = client.get("/readyz", headers={"Authorization": "Bearer probe-token"})
        assert health.status_code == 200  # serving from PostgreSQL: degraded, not down
        assert health.json()["status"] == "degraded"
        assert health.json()["checks"]["redis"]["ok"] is False
        assert health.json()["checks"]["database"]["ok"] is True
    metric_cache.reset_breaker()
    # Only the first request may pay a socket timeout; the breaker spares the rest.
    assert timings[0] < 1.0 + 4 * CACHE_SOCKET_TIMEOUT
    assert max(timings[1:]) < 1.0


@pytest.mark.django_db(transaction=True)
def test_readers_get_answers_while_a_refresh_holds_its_lock(owner):
    org = owner.organization
    build_history(org, now=timezone.now(), seed=5)
    refresh_summaries()
    state = parse_state({"range": "last_financial_year", "compare": "previous_year"}, org)
    expected = get_metrics_comparison(org, state, list(METRICS))
    holding = threading.Event()
    release = threading.Event()

    def slow_refresh():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # An incremental step mid-way: the organisation's summary rows deleted, not yet
                # inserted again, locks held.
                for view in ("daily_sales", "daily_pipeline", "daily_jobs"):
                    cursor.execute(
                        f"DELETE FROM {view} WHERE organization_id = %s",  # noqa: S608
                        [org.pk],
                    )
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    refresher = threading.Thread(target=slow_refresh)
    refresher.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'daily_sales' AND l.mode = 'RowExclusiveLock' AND l.granted"
            )
            assert cursor.fetchone()[0] == 1  # the refresh really is in progress
        latencies = []
        for _ in range(5):
            started = time.perf_counter()
            assert get_metrics_comparison(org, state, list(METRICS)) == expected
            latencies.append(time.perf_counter() - started)
    finally:
        release.set()
        refresher.join(10)
    assert max(latencies) < 2.0  # would block until release (10 s) if readers waited on the lock


@pytest.mark.django_db
def test_dashboard_page_and_widgets_render_when_redis_is_down(client, owner, blackhole):
    import html
    import re

    build_history(owner.organization, now=timezone.now(), seed=4)
    with override_settings(CACHES=_cache_settings(blackhole)):
        metric_cache.reset_breaker()
        client.force_login(owner)
        started = time.perf_counter()
        page = client.get("/dashboard/", {"range": "last_90_days"})
        assert page.status_code == 200
        content = page.content.decode()
        assert "state-error" not in content
        assert len(re.findall(r'data-metric="[a-z_]+" data-value="\d+', content)) == 8  # KPIs
        urls = [
            html.unescape(u)
            for u in dict.fromkeys(re.findall(r'hx-get="(/dashboard/widgets/[^"]+)"', content))
        ]
        assert len(urls) == 6  # insights, four charts, the feed
        for url in urls:
            fragment = client.get(url, HTTP_HX_REQUEST="true")
            assert fragment.status_code == 200, url
            assert "state-error" not in fragment.content.decode(), url
        elapsed = time.perf_counter() - started
    metric_cache.reset_breaker()
    contextcache.reset_breaker()
    # One timeout for the metric cache, one for the request context (session, layout), then
    # their breakers answer at once.
    assert elapsed < 5 + 2 * CACHE_SOCKET_TIMEOUT
