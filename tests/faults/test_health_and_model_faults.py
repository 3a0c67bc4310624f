"""/healthz and the model endpoint against dependencies that accept and never answer: each
answers within its bound (real sockets, the real clients)."""

from __future__ import annotations

import openai
import pytest
from django.test import Client, override_settings
from django.urls import resolve

from insights.narration import ask_model
from tests.faults.conftest import closed_port, timed

HEALTH_BOUND = 1.0  # seconds


@pytest.mark.django_db
def test_healthz_answers_within_a_second_and_names_a_stalled_redis(stall):
    resolve("/healthz")  # a running server has its URLs loaded; the first test may not
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{stall.port}/0"):
        for _ in range(3):  # and again while the first probe may still be stuck
            response, _seconds = timed(lambda: Client().get("/healthz"), HEALTH_BOUND)
            assert response.status_code == 200
            assert response.json() == {
                "status": "degraded",
                "dependencies": {"database": "ok", "redis": "stalled"},
            }


@pytest.mark.django_db
def test_healthz_names_a_redis_that_refuses():
    resolve("/healthz")
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"):
        response, _seconds = timed(lambda: Client().get("/healthz"), HEALTH_BOUND)
    assert response.json()["dependencies"] == {"database": "ok", "redis": "down"}


def test_a_probe_whose_own_socket_timeout_ran_out_first_is_stalled_not_down(monkeypatch, stall):
    """On a loaded machine the probe's thread may start late, and its socket timeout (the
    same 0.4 s) then runs out before /healthz stops waiting: still no answer, "stalled"."""
    import redis

    from infra import health

    def late_probe():
        client = redis.Redis(port=stall.port, socket_connect_timeout=0.05, socket_timeout=0.05)
        try:
            client.ping()  # the stalled server: a redis TimeoutError after 0.05 s
        finally:
            client.close()

    monkeypatch.setitem(health.LIVENESS_PROBES, "redis", late_probe)
    monkeypatch.setitem(health.LIVENESS_PROBES, "database", lambda: None)
    assert health.probe_dependencies(timeout=2.0) == {"database": "ok", "redis": "stalled"}


def test_a_model_endpoint_that_never_answers_is_cut_at_its_timeout(stall, settings):
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{stall.port}/v1"
    settings.INSIGHTS_LLM_TIMEOUT_SECONDS = 1

    def call():
        with pytest.raises(openai.APITimeoutError):
            ask_model({"findings": []})

    timed(call, 2.0)  # 1 s timeout, no retries: never the client's default 10 min
