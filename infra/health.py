"""Health probes.

- `/healthz` (liveness): public and minimal. 200 while this process can answer at all.
- `/readyz` (readiness): database, Redis, beat freshness and cache counters. Everyone gets the
  status and its HTTP code (200 "ok" or "degraded", 503 "down"); only staff, or a caller with
  `Authorization: Bearer $HEALTH_TOKEN`, get the details. Without Redis the site still serves
  from PostgreSQL, so that is "degraded", not "down".
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

BEAT_HEARTBEAT_KEY = "renoz:beat:last_tick"
BEAT_STALE_AFTER_S = 600

# Details shown to staff on /readyz, registered by the layers above at start-up (the metric
# layer adds its cache counters), so this module imports none of them.
DETAIL_PROVIDERS: dict[str, Callable[[], dict]] = {}


def register_detail(name: str, provider: Callable[[], dict]) -> None:
    """Show `provider()` under `checks[name]` on /readyz for staff and token holders."""
    DETAIL_PROVIDERS[name] = provider


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
    return {"ok": age < BEAT_STALE_AFTER_S, "last_tick_age_s": round(age, 1)}


def _may_see_details(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.HEALTH_TOKEN
    header = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Nothing internal is shown."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: "down" (503) without the database; "degraded" without Redis or a fresh
    beat; "ok" otherwise."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["beat"] = _check_beat() if checks["redis"]["ok"] else {"ok": False}
    if not checks["database"]["ok"]:
        status = "down"
    elif not (checks["redis"]["ok"] and checks["beat"]["ok"]):
        status = "degraded"
    else:
        status = "ok"
    body: dict = {"status": status}
    if _may_see_details(request):
        for name, provider in DETAIL_PROVIDERS.items():
            try:
                checks[name] = provider()
            except Exception:  # noqa: BLE001,S110 - details are informative only
                pass
        body["checks"] = checks
    return JsonResponse(body, status=503 if status == "down" else 200)
