"""Error answers (docs/architecture.md, "Errors"): one styled page per status for people,
JSON `{"error": …}` for the API.

- 403, 404 and 500 are Django's error handlers (renoz/urls.py: handler403 …), a missing CSRF
  token is a 403 from `csrf_failure` (settings.CSRF_FAILURE_VIEW), 429 comes from
  the rate limits (infra/ratelimit.py), 503 from `DatabaseTimeoutMiddleware`.
- Each HTML page (templates/403.html …) extends base.html, so a signed-in user keeps the
  navigation, and offers a way back: the page they came from when it is ours, and the dashboard.
- 500.html is rendered with a plain Context (no request, no context processors, no database):
  whatever broke must not break the error page too.
"""

from __future__ import annotations

import logging

import psycopg
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme

log = logging.getLogger("renoz.errors")

# PostgreSQL's SQLSTATEs for "gave up waiting": statement_timeout or a cancel (57014) and
# lock_timeout or NOWAIT (55P03). Both are transient: the same request may well work shortly.
TIMEOUT_SQLSTATES = {"57014", "55P03"}
RETRY_AFTER_SECONDS = 30


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def back_url(request: HttpRequest) -> str | None:
    """The page the user came from (Referer), when it is on this site and not this page."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return None if referer == request.build_absolute_uri() else referer


def error_response(
    request: HttpRequest,
    status: int,
    message: str,
    *,
    retry_after: int | None = None,
    headline: str | None = None,
) -> HttpResponse:
    """`message` as JSON on /api/, else the styled page templates/<status>.html."""
    response: HttpResponse
    if is_api(request):
        response = JsonResponse({"error": message}, status=status)
    else:
        context = {
            "message": message,
            "headline": headline,
            "back_url": back_url(request),
            "retry_after": retry_after,
        }
        response = TemplateResponse(request, f"{status}.html", context, status=status).render()
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: the reason PermissionDenied was raised with, when it gave one."""
    reason = str(exception) if exception is not None and str(exception) else ""
    return error_response(request, 403, reason or "Your role cannot open this page.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a POST without its token says so, as JSON on the API (Django's own
    page is HTML, which an API client cannot read)."""
    return error_response(
        request,
        403,
        "This request has no valid CSRF token. Reload the page and try again; an API client "
        "sends the csrftoken cookie's value in the X-CSRFToken header.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: never echoes Django's resolver details, only that nothing is here."""
    return error_response(
        request, 404, "There is nothing here, or it belongs to another organisation."
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: no request context, no database (whatever failed may be either)."""
    message = "Something went wrong on our side. It has been logged; please try again."
    if is_api(request):
        return JsonResponse({"error": message}, status=500)
    page = loader.get_template("500.html").render(
        {"message": message}
    )  # no request: no context processors
    return HttpResponse(page, status=500)


def is_database_timeout(exc: BaseException) -> bool:
    """True for a statement or lock timeout, as psycopg raised it or as Django wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in TIMEOUT_SQLSTATES:
            return True
        seen = seen.__cause__
    return False


class DatabaseTimeoutMiddleware:
    """A statement or lock timeout is a 503 with Retry-After (JSON on the API), not a 500:
    the database was busy, nothing is broken, and the same request may work in a moment."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        timeout_types = (OperationalError, psycopg.OperationalError)
        if not isinstance(exception, timeout_types) or not is_database_timeout(exception):
            return None
        log.warning("Database timeout on %s: %s", request.path, str(exception).strip())
        return error_response(
            request,
            503,
            "The database is busy and this request waited too long. "
            f"Try again in {RETRY_AFTER_SECONDS} seconds.",
            retry_after=RETRY_AFTER_SECONDS,
        )
