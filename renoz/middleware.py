"""Request-wide guards: private caching of everything answered to a signed-in user."""

from __future__ import annotations

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
