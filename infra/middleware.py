"""Request-wide guards: private caching for signed-in users, and no NUL bytes in input."""

from __future__ import annotations

from django.http import HttpResponseBadRequest
from django.utils.cache import patch_cache_control, patch_vary_headers


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


class RejectNulMiddleware:
    """A NUL byte in a query or form value is never meant: PostgreSQL cannot store or compare
    one, so it would surface as a 500 wherever the value reaches SQL. Refuse it up front."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest(
                "Request values must not contain NUL bytes.", content_type="text/plain"
            )
        return self.get_response(request)


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in data.getlist(key)) for key in data)
