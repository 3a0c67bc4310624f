"""`Server-Timing` on every response when SERVER_TIMING=1 (benchmarks, profiling); off by default.

`Server-Timing: app;dur=<ms>, db;dur=<ms>;desc="<n> queries"[, <section>;dur=<ms>…]`: the time the request spent in
Django (every middleware inside this one, which is first), and the time and number of SQL
statements it ran, counted by an execute wrapper on each database connection of the request's
thread (a streamed body is produced later, outside both). It says how long, never what: no SQL,
no data. Named sections of the work (`section("insights")`, the dashboard's widgets) follow,
each with its time. Disabled, the middleware removes itself at start-up and costs nothing.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections

# The request's named sections, {name: seconds}, while the middleware times it (else None).
_sections: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "server_timing_sections", default=None
)


@contextmanager
def section(name: str):
    """Time a named part of the request's work into its Server-Timing (a no-op when off)."""
    sections = _sections.get()
    if sections is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        sections[name] = sections.get(name, 0.0) + time.perf_counter() - started


class QueryTimer:
    """An execute wrapper that counts statements and adds up their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def header_value(app_seconds: float, timer: QueryTimer, sections=None) -> str:
    return (
        f"app;dur={app_seconds * 1000:.1f}, "
        f'db;dur={timer.seconds * 1000:.1f};desc="{timer.count} queries"'
        + "".join(f", {name};dur={sec * 1000:.1f}" for name, sec in (sections or {}).items())
    )


class ServerTimingMiddleware:
    def __init__(self, get_response):
        if not getattr(settings, "SERVER_TIMING", False):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        timer = QueryTimer()
        sections: dict[str, float] = {}
        token = _sections.set(sections)
        started = time.perf_counter()
        try:
            with ExitStack() as stack:
                for alias in connections:
                    stack.enter_context(connections[alias].execute_wrapper(timer))
                response = self.get_response(request)
        finally:
            _sections.reset(token)
        response["Server-Timing"] = header_value(time.perf_counter() - started, timer, sections)
        return response
