"""Writes of the xero app: connect and disconnect (admins only, checked by the views), and
notes on exceptions. django-auditlog records notes and connections (infra/audit)."""

from __future__ import annotations

from django.db import transaction

from xero.client import XeroClient
from xero.models import ReconciliationNote, XeroConnection, XeroException


def do_connect_xero(organization, acting_user) -> XeroConnection:
    """Connect the organisation: take a token by client credentials (proving the settings),
    stored encrypted. Raises XeroError when Xero refuses."""
    with transaction.atomic():
        conn, _ = XeroConnection.objects.select_for_update().get_or_create(
            organization=organization, defaults={"connected_by": acting_user}
        )
        XeroClient(conn).fetch_token()
        conn.connected_by = acting_user
        conn.save()
    return conn


def do_disconnect_xero(organization, acting_user) -> bool:
    """Forget the connection and its token; synced rows stay (the books do not vanish)."""
    conn = XeroConnection.objects.filter(organization=organization).first()
    if conn is None:
        return False
    conn.delete()
    return True


def do_add_note(organization, acting_user, exception_key: str, text: str) -> ReconciliationNote:
    """A note on one of the organisation's exceptions (XeroException.DoesNotExist otherwise)."""
    XeroException.objects.for_org(organization).get(key=exception_key)
    return ReconciliationNote.objects.create(
        organization=organization, exception_key=exception_key, author=acting_user, text=text
    )
