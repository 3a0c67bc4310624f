"""Request-wide guards: private caching for signed-in users, and no NUL bytes in input; and
the pages' compression."""

from __future__ import annotations

import gzip
import secrets

from django.http import HttpResponseBadRequest
from django.middleware.gzip import GZipMiddleware, re_accepts_gzip
from django.utils.cache import patch_cache_control, patch_vary_headers

# zlib's fastest level: a 125 KB dashboard page compresses in about a third of level 6's time
# (Django's), for about a quarter more bytes (docs/scaling.md, "Issue 25, fourth stop").
PAGE_GZIP_LEVEL = 1


class FastGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (its random filename against BREACH included), compressing
    whole responses at PAGE_GZIP_LEVEL; streamed ones as Django does."""

    def process_response(self, request, response):
        if (
            response.streaming
            or len(response.content) < 200
            or response.has_header("Content-Encoding")
        ):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Encoding",))
        if not re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        compressed = _compress(response.content, self.max_random_bytes)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response


def _compress(data: bytes, max_random_bytes: int) -> bytes:
    """django.utils.text.compress_string at PAGE_GZIP_LEVEL: a random-length file name in the
    gzip header, so the compressed length does not betray the page's secrets (BREACH)."""
    compressed = memoryview(gzip.compress(data, compresslevel=PAGE_GZIP_LEVEL, mtime=0))
    header = bytearray(compressed[:10])
    header[3] = gzip.FNAME
    filename = b"a" * secrets.randbelow(max_random_bytes) + b"\x00"
    return bytes(header) + filename + compressed[10:]


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
