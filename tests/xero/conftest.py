"""The fake Xero over HTTP, and the real SDK pointed at it."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from xero.fake import FakeXero
from xero.models import XeroConnection


@pytest.fixture
def fake(settings):
    with FakeXero() as server:
        settings.XERO_CLIENT_ID = server.client_id
        settings.XERO_CLIENT_SECRET = server.client_secret
        settings.XERO_API_URL = server.api_url
        settings.XERO_IDENTITY_URL = server.url
        settings.XERO_PAGE_SIZE = 100
        yield server


@pytest.fixture
def connection(org, owner, fake):
    cache.delete_many([f"xero:exhausted:{org.pk}"])
    return XeroConnection.objects.create(organization=org, connected_by=owner)


@pytest.fixture
def no_sleep():
    """Records the waits the sync asks for instead of sleeping (Retry-After is honoured as
    asked; the test reads what was asked)."""
    waits: list[float] = []
    return waits
