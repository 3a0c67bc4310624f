"""Redis down, and refreshes under read: the dashboard keeps answering from the database."""

from __future__ import annotations

import socket
import threading

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
from tests.dashboard.factories import build_history


def _cache_settings(location: str) -> dict:
    from django.conf import settings

    return {"default": {**settings.CACHES["default"], "LOCATION": location}}


class Blackhole:
    """A TCP port that accepts connections and never answers: the worst kind of dead Redis.
    It counts the connections it accepted, so a test can see who still tries Redis."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.url = f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed at teardown
                return
            self.accepted.append(conn)  # kept open and never answered

    def close(self):
        self.server.close()
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def blackhole():
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def long_breakers(monkeypatch):
    """Breakers that stay open for the whole test, so what the test sees does not depend on
    how fast a loaded machine runs it; closed again afterwards."""
    monkeypatch.setattr(metric_cache, "BREAKER_SECONDS", 600.0)
    monkeypatch.setattr(contextcache, "BREAKER_SECONDS", 600.0)
    metric_cache.reset_breaker()
    contextcache.reset_breaker()
    yield
    metric_cache.reset_breaker()
    contextcache.reset_breaker()


@pytest.fixture
def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db
@pytest.mark.parametrize("redis", ["blackhole", "closed_port"])
def test_api_answers_from_the_database_when_redis_is_down(
    request, client, owner, redis, settings, long_breakers
):
    settings.HEALTH_TOKEN = "probe-token"
    build_history(owner.organization, now=timezone.now(), seed=3)
    refresh_summaries()
    state = parse_state({"range": "last_90_days"}, owner.organization)
    expected = get_metrics_comparison(owner.organization, state, list(METRICS))
    dead = request.getfixturevalue(redis)
    location = dead.url if isinstance(dead, Blackhole) else dead
    with override_settings(CACHES=_cache_settings(location)):
        client.force_login(owner)
        for attempt in range(3):
            response = client.get("/api/dashboard/metrics", {"range": "last_90_days"})
            assert response.status_code == 200
            body = response.json()
            assert {
                k: {f: v[f] for f in expected[k]} for k, v in body["metrics"].items()
            } == expected
            if attempt == 0:
                # The first failure opens the breaker: the metric cache stops trying Redis.
                assert metric_cache._breaker_open_until > 0
                tried = len(dead.accepted) if isinstance(dead, Blackhole) else None
        if isinstance(dead, Blackhole):
            # Only the first request paid a socket timeout; the breaker spared the rest.
            assert len(dead.accepted) == tried
        health = client.get("/readyz", headers={"Authorization": "Bearer probe-token"})
        assert health.status_code == 200  # serving from PostgreSQL: degraded, not down
        assert health.json()["status"] == "degraded"
        assert health.json()["checks"]["redis"]["ok"] is False
        assert health.json()["checks"]["database"]["ok"] is True


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
                release.wait(60)
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
        for _ in range(5):
            assert get_metrics_comparison(org, state, list(METRICS)) == expected
        # The readers answered while the refresh still held its locks: had they waited on
        # them, they could only have returned after the refresh was released below.
        assert refresher.is_alive()
    finally:
        release.set()
        refresher.join(60)
    assert not refresher.is_alive()


@pytest.mark.django_db
def test_dashboard_page_and_widgets_render_when_redis_is_down(
    client, owner, blackhole, long_breakers
):
    import html
    import re

    build_history(owner.organization, now=timezone.now(), seed=4)
    with override_settings(CACHES=_cache_settings(blackhole.url)):
        client.force_login(owner)
        page = client.get("/dashboard/", {"range": "last_90_days"})
        assert page.status_code == 200
        content = page.content.decode()
        assert "state-error" not in content
        assert len(re.findall(r'data-metric="[a-z_]+" data-value="\d+', content)) == 9  # KPIs
        # Every widget comes with the page (issue 25), charts drawn as SVG by the server.
        assert " data-loading" not in content  # no widget left loading (the attribute)
        assert content.count('class="chart-svg chart-svg-wide" role="img"') == 5
        assert content.count('class="feed-item"') > 0
        # One timeout for the metric cache, one for the request context (session, layout);
        # then both breakers are open and answer from the database at once.
        assert metric_cache._breaker_open_until > 0
        assert contextcache._open_until > 0
        urls = [
            html.unescape(u)
            for u in dict.fromkeys(re.findall(r'hx-get="(/dashboard/widgets/[^"]+)"', content))
        ]
        assert len(urls) == 7  # insights, five charts, the feed
        for url in urls:
            fragment = client.get(url, HTTP_HX_REQUEST="true")
            assert fragment.status_code == 200, url
            assert "state-error" not in fragment.content.decode(), url
