"""The cache module: one recompute per key, versions, counters and /healthz."""

from __future__ import annotations

import threading
import time

import pytest

from infra.health import BEAT_HEARTBEAT_KEY
from metrics import cache as metric_cache
from metrics.periods import parse_state
from metrics.queries import get_metrics


def test_concurrent_misses_compute_once():
    metric_cache.reset_breaker()  # an earlier test may have left Redis "down" for a few seconds
    calls = []
    results = []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"value": 42}

    def reader():
        results.append(metric_cache.get_or_compute("dash:test:one-recompute", compute))

    threads = [threading.Thread(target=reader) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [{"value": 42}] * 5


def _raw(key):
    return metric_cache._call(lambda client: client.get(key))


def test_a_page_stores_its_values_in_one_pipeline_when_it_is_done():
    """Inside page_pass a computed value, its lock and its blocks stay with the page (read
    back from there) until the page ends; then they are in Redis and the lock is released."""
    metric_cache.reset_breaker()
    key = f"dash:test:page-writes:{time.monotonic_ns()}"
    calls = []

    def compute():
        calls.append(1)
        return {"value": 7}

    with metric_cache.page_pass(991):
        assert metric_cache.get_or_compute(key, compute) == {"value": 7}
        metric_cache.set_blocks({f"{key}:block": {"a": [1]}})
        assert _raw(key) is None and _raw(f"{key}:lock") == b"1"  # held by the page
        assert metric_cache.get_or_compute(key, compute) == {"value": 7}  # from the page
        assert metric_cache.get_blocks([f"{key}:block"]) == [{"a": [1]}]
        assert calls == [1]
    assert _raw(key) is not None and _raw(f"{key}:block") is not None
    assert _raw(f"{key}:lock") is None
    assert metric_cache.get_or_compute(key, compute) == {"value": 7}
    assert calls == [1]


def test_a_page_prefetches_its_values_and_releases_the_locks_it_did_not_use():
    metric_cache.reset_breaker()
    base = f"dash:test:prefetch:{time.monotonic_ns()}"
    metric_cache.store(f"{base}:cached", {"value": 1})
    with metric_cache.page_pass(992):
        metric_cache.prefetch([f"{base}:cached", f"{base}:used", f"{base}:unused"])
        # One round trip took the locks of the two values absent.
        assert _raw(f"{base}:used:lock") == b"1" and _raw(f"{base}:unused:lock") == b"1"
        assert metric_cache.get_or_compute(f"{base}:cached", lambda: {"value": 2}) == {"value": 1}
        assert metric_cache.get_or_compute(f"{base}:used", lambda: {"value": 3}) == {"value": 3}
    assert _raw(f"{base}:used:lock") is None and _raw(f"{base}:unused:lock") is None
    assert _raw(f"{base}:unused") is None
    assert metric_cache.get_or_compute(f"{base}:used", lambda: {"value": 4}) == {"value": 3}


def test_versions_move_per_source_and_all_at_once():
    before_sales = metric_cache.data_version(77, ["sales"])
    before_jobs = metric_cache.data_version(77, ["jobs"])
    metric_cache.bump_data_version(77, ["sales"])
    assert metric_cache.data_version(77, ["sales"]) != before_sales
    assert metric_cache.data_version(77, ["jobs"]) == before_jobs
    metric_cache.bump_data_version(77)
    assert metric_cache.data_version(77, ["jobs"]) != before_jobs
    with pytest.raises(ValueError, match="Unknown cache parts"):
        metric_cache.bump_data_version(77, ["nonsense"])


def test_hits_and_misses_are_counted():
    metric_cache.reset_stats()
    metric_cache.get_or_compute("dash:test:counted", lambda: 1)
    metric_cache.get_or_compute("dash:test:counted", lambda: 2)
    stats = metric_cache.cache_stats()
    assert (stats["hits"], stats["misses"], stats["hit_rate"]) == (1, 1, 0.5)


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
    assert set(body["checks"]["cache"]) == {
        "hits",
        "misses",
        "hit_rate",
        "history_hits",
        "history_misses",
        "history_hit_rate",
        "fragment_hits",
        "fragment_misses",
        "fragment_hit_rate",
    }
    cache.client.get_client(write=True).set(BEAT_HEARTBEAT_KEY, time.time() - 30)
    beat = client.get("/readyz", headers=auth).json()["checks"]["beat"]
    assert beat["ok"] is True and 29 <= beat["last_tick_age_s"] < 60


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_two_installs_sharing_one_redis_never_read_each_others_numbers(org, settings):
    """Two databases with the same organisation id, one Redis: different deployment
    namespaces, so neither reads the other's cached values."""
    state = parse_state({"range": "this_month", "compare": "none"}, org)
    settings.DEPLOYMENT_NAMESPACE = ""
    ours = dict(settings.DATABASES["default"])
    here = metric_cache.namespace()
    # The other install: same Redis, same organisation id, another database. It caches a
    # revenue of $1B for organisation org.pk.
    settings.DATABASES = {"default": {**ours, "NAME": "some_other_install"}}
    there = metric_cache.namespace()
    assert here != there
    key = metric_cache.make_key(org.pk, "metrics:revenue", state, {"sales"})
    assert key is not None and key.startswith(there)
    metric_cache.get_or_compute(key, lambda: {"metrics": {"revenue": {"value": 10**11}}})
    assert get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"] == 10**11
    # Back in our install, our organisation has no revenue, and we never see theirs.
    settings.DATABASES = {"default": ours}
    assert get_metrics(org, state, ["revenue"])["metrics"]["revenue"]["value"] == 0
    settings.DEPLOYMENT_NAMESPACE = "staging"
    assert metric_cache.namespace() == "dash:staging"
