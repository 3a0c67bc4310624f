"""The cache module: one recompute per key, versions, counters and /healthz."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard import cache as dash_cache
from renoz.health import BEAT_HEARTBEAT_KEY


def test_concurrent_misses_compute_once():
    calls = []
    results = []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"value": 42}

    def reader():
        results.append(dash_cache.get_or_compute("dash:test:one-recompute", compute))

    threads = [threading.Thread(target=reader) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [{"value": 42}] * 5


def test_versions_move_per_source_and_all_at_once():
    before_sales = dash_cache.data_version(77, ["sales"])
    before_jobs = dash_cache.data_version(77, ["jobs"])
    dash_cache.bump_data_version(77, ["sales"])
    assert dash_cache.data_version(77, ["sales"]) != before_sales
    assert dash_cache.data_version(77, ["jobs"]) == before_jobs
    dash_cache.bump_data_version(77)
    assert dash_cache.data_version(77, ["jobs"]) != before_jobs
    with pytest.raises(ValueError, match="Unknown cache parts"):
        dash_cache.bump_data_version(77, ["nonsense"])


def test_hits_and_misses_are_counted():
    dash_cache.reset_stats()
    dash_cache.get_or_compute("dash:test:counted", lambda: 1)
    dash_cache.get_or_compute("dash:test:counted", lambda: 2)
    assert dash_cache.cache_stats() == {"hits": 1, "misses": 1, "hit_rate": 0.5}


@pytest.mark.django_db
def test_readyz_reports_database_redis_beat_and_cache(client, settings):
    from django.core.cache import cache

    settings.HEALTH_TOKEN = "probe-token"
    auth = {"Authorization": "Bearer probe-token"}
    cache.client.get_client(write=True).delete(BEAT_HEARTBEAT_KEY)
    body = client.get("/readyz", headers=auth).json()
    assert body["status"] == "degraded"  # no beat yet
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["beat"] == {"ok": False, "last_tick_age_s": None}
    assert set(body["checks"]["cache"]) == {"hits", "misses", "hit_rate"}
    cache.client.get_client(write=True).set(BEAT_HEARTBEAT_KEY, time.time() - 30)
    beat = client.get("/readyz", headers=auth).json()["checks"]["beat"]
    assert beat["ok"] is True and 29 <= beat["last_tick_age_s"] < 60
