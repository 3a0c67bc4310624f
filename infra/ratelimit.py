"""Rate limits: a 429 with Retry-After instead of unbounded expensive work.

`rate_limited("export")` wraps a view; the rate comes from settings (RATELIMIT_<GROUP>, e.g.
"20/m"), counted per signed-in user (per address for anonymous callers) in the shared cache by
django-ratelimit. Login throttling is django-axes; its 429 is `accounts.lockout`.
Apply `rate_limited("heavy")` to the PDF, insights and refresh views as they are built.
"""

from __future__ import annotations

import math
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from infra.errors import error_response

GROUP_SETTINGS = {
    "export": "RATELIMIT_EXPORT",
    "heavy": "RATELIMIT_HEAVY",
    "ask": "RATELIMIT_ASK",
    "password_reset_address": "RATELIMIT_PASSWORD_RESET_ADDRESS",
    "password_reset_email": "RATELIMIT_PASSWORD_RESET_EMAIL",
}


def _key(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def too_many(request: HttpRequest, retry_after: int, what: str) -> HttpResponse:
    """The 429 itself: JSON for the API, the styled page (templates/429.html) otherwise."""
    message = f"Too many {what} requests; try again in {retry_after} s."
    return error_response(request, 429, message, retry_after=retry_after)


def check_rate(
    request: HttpRequest,
    group: str,
    *,
    rate: str | None = None,
    what: str | None = None,
    key: str | None = None,
) -> HttpResponse | None:
    """Count one call of `group` for this caller (or for `key`, e.g. an e-mail address being
    reset): None while within the rate, else the 429."""
    if not settings.RATELIMIT_ENABLE:
        return None
    limit = rate or getattr(settings, GROUP_SETTINGS.get(group, ""), None) or "10/m"
    counted = _key if key is None else (lambda _group, _request: key)
    usage = get_usage(request, group=f"renoz.{group}", key=counted, rate=limit, increment=True)
    # Tricky: with Redis down the count is unknown (usage is None): fail open.
    if usage is None or not usage["should_limit"]:
        return None
    return too_many(request, max(1, math.ceil(usage["time_left"])), what or group)


def rate_limited(group: str, *, rate: str | None = None, what: str | None = None):
    """Allow `rate` ("N/s|m|h|d", default settings.RATELIMIT_<GROUP>) calls per user per
    window to the wrapped view; past that, a 429 with Retry-After. `group` names the bucket,
    so views sharing a group share a budget."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refused = check_rate(request, group, rate=rate, what=what)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
