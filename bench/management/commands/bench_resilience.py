"""`manage.py bench_resilience`: what a dead dependency costs, measured rather than asserted.

The tests check the behaviour (a dead broker fails a publish at once without retrying; the
metric cache's breaker opens after one Redis failure); this command times it, so the figures
land in bench-results/bench.json (`dead_broker_publish_ms`, `redis_down_cache_read_ms`) and can
be compared between runs. Needs no seeded data.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from bench.results import DEFAULT_PATH, judged, merge_results
from bench.stats import summary
from metrics import cache as metric_cache

PUBLISH_BUDGET_MS = 100  # a write that queues a refresh must not wait on a dead broker


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _dead_broker_publish(samples: int) -> list[float]:
    from celery import Celery

    app = Celery("bench-probe", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        try:
            app.send_task("metrics.tasks.refresh_summaries", args=[["daily_sales"]])
        except Exception:  # noqa: BLE001, S110 - whatever kombu raises is the point
            pass
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _redis_down_reads(samples: int) -> list[float]:
    """Cached reads against a Redis that accepts and never answers: the first pays the socket
    timeout and opens the breaker; the rest should cost nothing."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    location = f"redis://127.0.0.1:{hole.getsockname()[1]}/0"
    caches = {"default": {**settings.CACHES["default"], "LOCATION": location}}
    timings = []
    try:
        with override_settings(CACHES=caches):
            metric_cache.reset_breaker()
            for i in range(samples):
                started = time.perf_counter()
                metric_cache.get_or_compute(f"bench:redis-down:{i}", lambda: {"value": 1})
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        metric_cache.reset_breaker()
        hole.close()
    return timings


class Command(BaseCommand):
    help = "Time a publish to a dead broker and cached reads with Redis down"

    def add_arguments(self, parser):
        parser.add_argument("--samples", type=int, default=20)
        parser.add_argument("--out", default=str(DEFAULT_PATH))

    def handle(self, *args, samples, out, **options):
        publish = summary(_dead_broker_publish(samples))
        reads = _redis_down_reads(samples)
        results = {
            "dead_broker_publish_ms": judged(publish, at_most={"median_ms": PUBLISH_BUDGET_MS}),
            "redis_down_cache_read_ms": {
                "first_ms": round(reads[0], 2),
                "after_breaker": summary(reads[1:]),
            },
        }
        merge_results(results, Path(out))
        self.stdout.write(
            f"dead broker publish: median {publish['median_ms']} ms, max {publish['max_ms']} ms; "
            f"Redis down: first read {reads[0]:.1f} ms, then median "
            f"{results['redis_down_cache_read_ms']['after_breaker']['median_ms']} ms"
        )
