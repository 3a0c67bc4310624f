"""/healthz: database, Redis and beat freshness, as JSON."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from metrics.cache import cache_stats

BEAT_HEARTBEAT_KEY = "renoz:beat:last_tick"


def _check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - health must report, not raise
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_redis() -> dict:
    started = time.perf_counter()
    try:
        client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_beat() -> dict:
    try:
        client = cache.client.get_client(write=False)  # type: ignore[attr-defined]
        raw = client.get(BEAT_HEARTBEAT_KEY)
    except Exception:  # noqa: BLE001
        return {"ok": False, "last_tick_age_s": None}
    if raw is None:
        return {"ok": False, "last_tick_age_s": None}
    age = time.time() - float(raw)
    return {"ok": age < 600, "last_tick_age_s": round(age, 1)}


@never_cache
def healthz(request):
    checks = {"database": _check_database(), "redis": _check_redis(), "beat": _check_beat()}
    try:
        checks["cache"] = cache_stats()
    except Exception:  # noqa: BLE001,S110 - stats are informative only
        pass
    healthy = checks["database"]["ok"] and checks["redis"]["ok"]
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)
