"""Work a view leaves for after its response has been sent.

A page's stores to the cache (the values, closed-day blocks and rendered bodies it computed,
and the single-flight locks it releases) change nothing the page shows, so the dashboard
sends them to Redis once the response's bytes are on their way: Django closes the response
after the server has written it, and its `request_finished` signal runs what was deferred,
in the same worker and thread (docs/architecture.md, "Cache"). The reader no longer waits for
them; the worker does, as before.

A view that fails still gets a response (the error page), whose close runs what was deferred;
metrics.cache.page_pass stores at once when the page fails inside it. What runs here logs its
own failures and never raises into the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished

log = logging.getLogger("renoz.infra.after_response")

_local = threading.local()


def _pending() -> list[Callable[[], None]]:
    if not hasattr(_local, "pending"):
        _local.pending = []
    return _local.pending


def defer(work: Callable[[], None]) -> None:
    """Run `work` once this thread's response has been sent (request_finished)."""
    _pending().append(work)


def run_pending(**_kwargs) -> None:
    """Run (and forget) everything deferred in this thread, in order; each failure logged."""
    pending, _local.pending = _pending(), []
    for work in pending:
        try:
            work()
        except Exception:
            log.exception("work deferred until after the response failed")


request_finished.connect(run_pending, dispatch_uid="renoz.infra.after_response")
