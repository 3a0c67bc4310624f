"""The Xero client: the official `xero-python` SDK over a custom connection (OAuth2 client
credentials), pointed at XERO_API_URL and XERO_IDENTITY_URL (docs/xero.md, "The client").

It fetches one page at a time as Xero's raw JSON (the sync keeps it), stays within Xero's
limits (xero/limits.py), waits out a 429's Retry-After, and takes a new token before the stored
one expires or when Xero answers 401. The token is stored encrypted and never logged: errors
carry Xero's status and reason only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from urllib3.util.retry import Retry
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import HTTPStatusException

from xero import limits
from xero.crypto import decrypt_token, encrypt_token
from xero.models import XeroConnection

log = logging.getLogger(__name__)

# Each endpoint: the SDK method and the key of its list in Xero's answer.
ENDPOINTS = {
    "invoices": ("get_invoices", "Invoices"),
    "credit_notes": ("get_credit_notes", "CreditNotes"),
    "payments": ("get_payments", "Payments"),
    "contacts": ("get_contacts", "Contacts"),
}
TOKEN_MARGIN = dt.timedelta(seconds=60)  # take a new token this long before the old expires
MAX_ATTEMPTS = 6


class XeroError(Exception):
    """A Xero call that failed for good; the message carries no token."""


class XeroNotConfigured(XeroError):
    pass


def configured() -> bool:
    return bool(settings.XERO_CLIENT_ID and settings.XERO_CLIENT_SECRET)


class _CustomConnectionToken(OAuth2Token):
    """The SDK's token, asking XERO_IDENTITY_URL instead of Xero's production host."""

    def get_client_credentials_access_token(self, api_client, app_store_billing):
        token_api = TokenApi(api_client, self.client_id, self.client_secret)
        token_api.client_credentials_token_url = settings.XERO_IDENTITY_URL.rstrip("/") + (
            "/connect/token"
        )
        new_token = token_api.get_client_credentials_token(app_store_billing)
        new_token.setdefault("scope", "")
        new_token.setdefault("expires_at", time.time() + float(new_token.get("expires_in", 0)))
        self.update_token(**new_token)
        api_client.set_oauth2_token(new_token)
        return True


@dataclass
class Page:
    items: list[dict]
    headers: dict = field(default_factory=dict)


class XeroClient:
    """One organisation's client. `calls` counts the API calls made (token requests apart)."""

    def __init__(self, connection: XeroConnection, sleep: Callable[[float], None] = time.sleep):
        if not configured():
            raise XeroNotConfigured("Xero is not connected: XERO_CLIENT_ID is not set")
        self.connection = connection
        self.sleep = sleep
        self.calls = 0
        self.token_requests = 0
        token = _CustomConnectionToken(
            client_id=settings.XERO_CLIENT_ID, client_secret=settings.XERO_CLIENT_SECRET
        )
        # Tricky: the SDK's Configuration is a process-wide default (its metaclass returns a
        # copy of the first one made, ignoring later arguments), so the token is set on the copy.
        configuration = Configuration()
        configuration.oauth2_token = token
        self.api_client = ApiClient(
            configuration,
            oauth2_token_getter=self._token,
            oauth2_token_saver=self._save_token,
        )
        # Tricky: urllib3 retries a 429 by itself, sleeping its Retry-After out of our sight;
        # we wait (and count, and bound) ourselves, so urllib3 only retries a failed connect.
        self.api_client.rest_client.pool_manager.connection_pool_kw["retries"] = Retry(
            total=1, connect=1, read=0, redirect=0, status=0, respect_retry_after_header=False
        )
        self.accounting = AccountingApi(self.api_client, base_url=settings.XERO_API_URL)
        self._cached = decrypt_token(connection.token_ciphertext)

    # --- tokens ------------------------------------------------------------------------------

    def _token(self) -> dict:
        return self._cached or {}

    def _save_token(self, token: dict) -> None:
        self._cached = dict(token)
        expires = dt.datetime.fromtimestamp(float(token.get("expires_at") or 0), tz=dt.UTC)
        self.connection.token_ciphertext = encrypt_token(self._cached)
        self.connection.token_expires_at = expires
        if self.connection.pk:
            XeroConnection.objects.filter(pk=self.connection.pk).update(
                token_ciphertext=self.connection.token_ciphertext, token_expires_at=expires
            )

    def fetch_token(self) -> None:
        """A new access token by client credentials (the connection's secret stays in settings)."""
        self.token_requests += 1
        try:
            self.api_client.get_client_credentials_token()
        except HTTPStatusException as error:
            raise XeroError(
                f"Xero refused the credentials ({error.status} {error.reason})"
            ) from None

    def _ensure_token(self) -> None:
        expires = self.connection.token_expires_at
        if not self._cached or expires is None or expires - TOKEN_MARGIN <= timezone.now():
            self.fetch_token()

    # --- pages -------------------------------------------------------------------------------

    def page(
        self, endpoint: str, page: int, since: dt.datetime | None, page_size: int | None = None
    ) -> Page:
        """One page of an endpoint, oldest change first, changed since `since` (If-Modified-Since)."""
        method, key = ENDPOINTS[endpoint]
        kwargs: dict = {"page": page, "order": "UpdatedDateUTC ASC"}
        if since is not None:
            kwargs["if_modified_since"] = since
        if endpoint != "contacts":
            kwargs["page_size"] = page_size or settings.XERO_PAGE_SIZE
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._ensure_token()
            limits.acquire(self.connection.organization_id, self.sleep)
            self.calls += 1
            try:
                response = getattr(self.accounting, method)(
                    self.connection.tenant_id,
                    _preload_content=False,
                    _request_timeout=(settings.XERO_CONNECT_TIMEOUT, settings.XERO_READ_TIMEOUT),
                    **kwargs,
                )
            except HTTPStatusException as error:
                headers = dict(error.headers or {})
                if error.status == 429 and attempt < MAX_ATTEMPTS:
                    wait = limits.retry_after(headers)
                    log.warning(
                        "Xero 429 (%s): waiting %.0f s", headers.get("X-Rate-Limit-Problem"), wait
                    )
                    self.sleep(wait)
                    continue
                if error.status == 401 and attempt < MAX_ATTEMPTS:
                    self.fetch_token()  # expired or revoked early: one new token, then retry
                    continue
                raise XeroError(
                    f"Xero {endpoint} page {page}: {error.status} {error.reason}"
                ) from None
            headers = dict(response.getheaders())
            limits.note_remaining(self.connection.organization_id, headers)
            body = json.loads(response.data or b"{}")
            return Page(items=body.get(key) or [], headers=headers)
        raise XeroError(f"Xero {endpoint} page {page}: gave up after {MAX_ATTEMPTS} attempts")
