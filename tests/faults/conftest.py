"""The fault suite's tools: real sockets that misbehave, Redis and the broker pointed at them
while a test runs, a real Celery worker process, and a clock on every request.

- `Stall`: a TCP server that accepts connections and never answers (a stalled Redis, SMTP or
  PostgreSQL proxy); `closed_port()`: a port where nothing listens (connections refused).
- `redis_at(url)`: the cache, sessions, rate limits, locks and the Celery broker all at `url`
  (not eager: tasks are really published), then back to the real Redis.
- `timed(fn, bound)`: runs `fn` in its own thread and fails the test if it has not answered
  within `bound` seconds, so a request that would hang forever fails instead of hanging the run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.test import Client, override_settings
from kombu import pools as kombu_pools

from infra import breaker, contextcache
from metrics import cache as metric_cache

ROOT = Path(__file__).resolve().parents[2]
WRITE_BOUND = 2.0  # seconds: every write answers within this, whatever Redis does


class Stall:
    """Accepts every connection and never sends a byte."""

    def __init__(self):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(128)
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.server.close()
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def stall():
    server = Stall()
    yield server
    server.close()


def real_redis_url() -> str:
    return settings.CACHES["default"]["LOCATION"]


def _reset_breakers() -> None:
    metric_cache.reset_breaker()
    contextcache.reset_breaker()
    breaker.BROKER.reset()


def _point_broker(url: str) -> None:
    current_app.conf.broker_url = url
    current_app.conf.task_always_eager = False
    # Tricky: Celery caches its connection and producer pools, and kombu keeps one pool per
    # broker URL process-wide; drop them all so the next publish connects to `url`.
    kombu_pools.reset()
    current_app._pool = None
    current_app.amqp._producer_pool = None


@contextmanager
def redis_at(url: str, monkeypatch):
    """Cache, sessions, rate limits, locks and broker at `url` for the block."""
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    was_eager = current_app.conf.task_always_eager
    location = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    _reset_breakers()
    with override_settings(CACHES=location, REDIS_URL=url):
        caches["default"].close()
        _point_broker(url)
        try:
            yield
        finally:
            caches["default"].close()
    _point_broker(real_redis_url())
    current_app.conf.task_always_eager = was_eager
    _reset_breakers()


@contextmanager
def real_broker(monkeypatch):
    """Tasks published to the real Redis (not run eagerly) for the block."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    was_eager = current_app.conf.task_always_eager
    _reset_breakers()
    _point_broker(real_redis_url())
    try:
        yield
    finally:
        current_app.conf.task_always_eager = was_eager


def timed(fn, bound: float):
    """(result, seconds) of fn() run in its own thread; fails if it takes longer than bound."""
    box: dict = {}

    def run():
        started = time.monotonic()
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc
        finally:
            box["seconds"] = time.monotonic() - started
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound * 3)  # a little slack so an overrun is measured, not just a hang
    if thread.is_alive():
        pytest.fail(f"no answer within {bound * 3:.1f} s (bound {bound} s): it hangs")
    if "error" in box:
        raise box["error"]
    assert box["seconds"] <= bound, f"answered in {box['seconds']:.2f} s, bound {bound} s"
    return box["result"], box["seconds"]


def logged_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def queue_keys() -> list[str]:
    return list(settings.TASK_QUEUES.values())


def purge_queues() -> None:
    client = redis.Redis.from_url(real_redis_url())
    client.delete(*queue_keys())


def queued_tasks() -> list[str]:
    """Names of the tasks waiting in this deployment's queues on the real Redis."""
    import json

    client = redis.Redis.from_url(real_redis_url())
    return sorted(
        json.loads(raw)["headers"]["task"]
        for key in queue_keys()
        for raw in client.lrange(key, 0, -1)
    )


def worker_env(**extra: str) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "renoz.settings",
        "DATABASE_URL": url,
        "DEPLOYMENT_NAMESPACE": settings.DEPLOYMENT_NAMESPACE,
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": real_redis_url(),
        "CELERY_BROKER_URL": real_redis_url(),
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def start_worker(env: dict) -> subprocess.Popen:
    """A real Celery worker on every queue, one task at a time, in its own process group."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "renoz",
            "worker",
            "-P",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    if worker.poll() is None:
        worker.send_signal(sig)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
    return worker.stderr.read().decode(errors="replace") if worker.stderr else ""


def wait_for(condition, limit: float = 60.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False
