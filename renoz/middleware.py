"""Request-wide guards: a statement timeout for web requests, and private caching of pages.

Both are web-only on purpose: Celery tasks and management commands never pass through here,
so a long refresh or backfill is never cut off.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.signals import request_finished
from django.db import connection
from django.db.utils import DatabaseError
from django.utils.cache import patch_cache_control, patch_vary_headers

log = logging.getLogger("renoz.middleware")


def _reset_statement_timeout(**_kwargs) -> None:
    """After the response is sent (streamed exports included), lift the web-only limit so a
    connection kept open by CONN_MAX_AGE carries nothing into code run outside a request."""
    if not getattr(connection, "renoz_statement_timeout", False):
        return
    connection.renoz_statement_timeout = False  # type: ignore[attr-defined]
    if connection.connection is None:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = DEFAULT")
    except DatabaseError:  # a broken or aborted connection is closed by Django anyway
        log.debug("could not reset statement_timeout", exc_info=True)


# Tricky: connected before Django's close_old_connections (connected when db is imported);
# order does not matter because a closed connection has nothing to reset.
request_finished.connect(_reset_statement_timeout, dispatch_uid="renoz-reset-statement-timeout")


class StatementTimeoutMiddleware:
    """`SET statement_timeout` for the duration of each web request (WEB_STATEMENT_TIMEOUT_MS)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout = settings.WEB_STATEMENT_TIMEOUT_MS
        if timeout:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, false)", [str(timeout)]
                    )
                connection.renoz_statement_timeout = True  # type: ignore[attr-defined]
            except DatabaseError:
                # No database: let the view fail (or not) on its own terms.
                log.warning("could not set statement_timeout", exc_info=True)
        return self.get_response(request)


class PrivateCacheMiddleware:
    """Anything answered to a signed-in user is private to them: `Cache-Control: private,
    no-store` (and Vary: Cookie), so no proxy or shared browser cache keeps a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ["Cookie"])
        return response
