"""Health probes.

- `/healthz` (liveness): public and minimal. 200 while this process can answer at all, within
  a second whatever its dependencies do: PostgreSQL and Redis are probed in a small thread pool
  with their own short timeouts, and one that does not answer in time is named "stalled"
  (docs/architecture.md, "Stalled dependencies").
- `/readyz` (readiness): database, Redis, beat freshness and cache counters. Everyone gets the
  status and its HTTP code (200 "ok" or "degraded", 503 "down"); only staff, or a caller with
  `Authorization: Bearer $HEALTH_TOKEN`, get the details. Without Redis the site still serves
  from PostgreSQL, so that is "degraded", not "down".
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
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


# Each liveness probe has this long to answer; the two run side by side, so /healthz answers in
# about PROBE_SECONDS even when both dependencies hang.
PROBE_SECONDS = 0.4
_probe_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")
# Tricky: a probe stuck on a dependency keeps its thread. While one is still running, the next
# /healthz reports "stalled" without starting another, so stuck probes never pile up.
_running: dict[str, Future] = {}
_running_lock = threading.Lock()


def _probe_database() -> None:
    # Tricky: each of the pool's few threads keeps its connection between probes (a new
    # connection per probe can take longer than the probe's bound on a loaded machine), and
    # drops it when it is broken or past CONN_MAX_AGE, as a request would.
    db = connections["default"]
    db.close_if_unusable_or_obsolete()
    with db.cursor() as cursor:
        cursor.execute("SET statement_timeout = %s", [int(PROBE_SECONDS * 1000)])
        cursor.execute("SELECT 1")
        cursor.fetchone()
        cursor.execute("RESET statement_timeout")


def _probe_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=PROBE_SECONDS, socket_timeout=PROBE_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


LIVENESS_PROBES: dict[str, Callable[[], None]] = {
    "database": _probe_database,
    "redis": _probe_redis,
}


def probe_dependencies(timeout: float = PROBE_SECONDS) -> dict[str, str]:
    """{"database": …, "redis": …}, each "ok", "down" (refused or failed) or "stalled" (no
    answer within `timeout`); answers within about `timeout` whatever the dependencies do."""
    started: dict[str, Future] = {}
    result: dict[str, str] = {}
    with _running_lock:
        for name, probe in LIVENESS_PROBES.items():
            previous = _running.get(name)
            if previous is not None and not previous.done():
                result[name] = "stalled"
                continue
            _running[name] = started[name] = _probe_pool.submit(probe)
    deadline = time.monotonic() + timeout
    for name, future in started.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            result[name] = "ok"
        except FutureTimeout:
            result[name] = "stalled"
        except (TimeoutError, redis.exceptions.TimeoutError):
            # Tricky: the probe's own socket timeout ran out first (a probe thread that
            # started late on a loaded machine): no answer in time, as above.
            result[name] = "stalled"
        except Exception:  # noqa: BLE001 - health must report, not raise
            result[name] = "down"
    return {name: result[name] for name in LIVENESS_PROBES}


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
    """Liveness: the process answers (always 200, within a second), and says which dependency
    is down or stalled: `{"status": "ok"|"degraded", "dependencies": {"database": "ok", …}}`."""
    dependencies = probe_dependencies()
    ok = all(state == "ok" for state in dependencies.values())
    return JsonResponse({"status": "ok" if ok else "degraded", "dependencies": dependencies})


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
