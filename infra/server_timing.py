"""`Server-Timing` on every response when SERVER_TIMING=1 (benchmarks, profiling); off by default.

`Server-Timing: app;dur=<ms>, db;dur=<ms>;desc="<n> queries"`: the time the request spent in
Django (every middleware inside this one, which is first), and the time and number of SQL
statements it ran, counted by an execute wrapper on each database connection of the request's
thread (a streamed body is produced later, outside both). It says how long, never what: no SQL,
no data. Disabled, the middleware removes itself at start-up and costs nothing.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections


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


def header_value(app_seconds: float, timer: QueryTimer) -> str:
    return (
        f"app;dur={app_seconds * 1000:.1f}, "
        f'db;dur={timer.seconds * 1000:.1f};desc="{timer.count} queries"'
    )


class ServerTimingMiddleware:
    def __init__(self, get_response):
        if not getattr(settings, "SERVER_TIMING", False):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        timer = QueryTimer()
        started = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(timer))
            response = self.get_response(request)
        response["Server-Timing"] = header_value(time.perf_counter() - started, timer)
        return response
