"""Webhook delivery: a signed JSON POST to an address that is checked to be public
(docs/alerts.md, "Webhooks").

The body is signed with HMAC-SHA256 over "<timestamp>.<body>" with the rule's secret
(`X-Renoz-Signature: sha256=<hex>`, `X-Renoz-Timestamp`), and carries an `Idempotency-Key`
that is the same on every attempt, so a receiver drops a resend. Server-side request forgery:
the host is resolved once, every address it resolves to must be public (not private, loopback,
link-local, multicast, reserved or unspecified) unless it lies in ALERTS_WEBHOOK_ALLOWED_NETWORKS,
and the request goes to that checked address (the Host header and TLS name stay the URL's), so
a second DNS answer cannot point it elsewhere. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import urllib3
from django.conf import settings


class WebhookRefused(ValueError):
    """The URL is not one we may call (scheme, host or address)."""


class WebhookFailed(OSError):
    """The receiver did not take the notification; `retry` says whether to try again."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS]


def _is_public(address) -> bool:
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (address.version == 6 and address.ipv4_mapped is not None)
    )


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, checked address) of a webhook URL; raises WebhookRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("A webhook URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise WebhookRefused("A webhook URL must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused("The webhook URL's port is not a number") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookRefused(f"The host {parts.hostname!r} does not resolve") from None
    allowed = _allowed_networks()
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _is_public(address) and not any(address in net for net in allowed):
            raise WebhookRefused(
                f"{parts.hostname} resolves to {address}, a private, loopback or link-local "
                "address; webhooks go only to public addresses"
            )
        addresses.append(str(address))
    return parts.scheme, parts.hostname, port, addresses[0]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def post(url: str, payload: dict, *, secret: str, key: str) -> int:
    """POST the payload; the receiver's status code (2xx), or raise WebhookFailed /
    WebhookRefused."""
    scheme, host, port, address = check_url(url)
    parts = urlsplit(url)
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    default_port = 443 if scheme == "https" else 80
    headers = {
        "Host": host if port == default_port else f"{host}:{port}",
        "Content-Type": "application/json",
        "User-Agent": "Renoz-Dashboard-Alerts/1",
        "Idempotency-Key": key,
        "X-Renoz-Timestamp": timestamp,
        "X-Renoz-Signature": signature(secret, timestamp, body),
    }
    timeout = urllib3.Timeout(
        connect=settings.ALERTS_WEBHOOK_CONNECT_TIMEOUT, read=settings.ALERTS_WEBHOOK_READ_TIMEOUT
    )
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with pool:
            response = pool.urlopen(
                "POST", path, body=body, headers=headers, redirect=False, preload_content=True
            )
    except urllib3.exceptions.HTTPError as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}") from None
    status = response.status
    if 200 <= status < 300:
        return status
    # 408 and 429 and server errors may pass; any other answer will not change on a retry.
    raise WebhookFailed(
        f"The receiver answered {status}", retry=status in (408, 429) or status >= 500
    )
