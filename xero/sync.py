"""Sync an organisation's sales invoices, credit notes and payments from Xero
(docs/xero.md, "Sync").

Each endpoint is read in passes: a pass asks for what changed since the highest
`UpdatedDateUTC` stored (If-Modified-Since; Xero's clock, never ours), oldest change first,
page by page. Every page is upserted on Xero's ids in one transaction together with the
cursor's next page, so a crash loses at most the page in flight and the next run resumes the
pass where it stopped. A pass ends on a short page; only then is the cursor's next page reset.
One sync per organisation runs at a time (an advisory lock). A run that fails is recorded as a
failed `XeroSyncRun` with its error (what the system alert reads) and re-raised.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
import zlib
import zoneinfo
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from xero_python.api_client.deserializer import deserialize_date_ms, deserialize_datetime_ms

from accounts.models import Organization
from xero import rules
from xero.client import XeroClient
from xero.matching import match_organization
from xero.models import (
    SyncStatus,
    XeroConnection,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroPayment,
    XeroSyncCursor,
    XeroSyncRun,
)
from xero.signals import ledger_changed

log = logging.getLogger(__name__)

ENDPOINTS = ("invoices", "credit_notes", "payments")
Progress = Callable[[str, int, int], None]  # (endpoint, page, rows in it)


class SyncBusy(Exception):
    """Another sync of the organisation is running."""


def cents(value) -> int:
    return int((Decimal(str(value or 0)) * 100).to_integral_value(ROUND_HALF_UP))


def xero_date(raw: str) -> dt.date:
    """Xero's JSON date (`/Date(ms+0000)/`) as a date."""
    return deserialize_date_ms(None, raw, None)


def _instant(raw: str) -> dt.datetime:
    return deserialize_datetime_ms(None, raw, None).astimezone(dt.UTC)


def _local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


# --- rows from Xero's JSON -----------------------------------------------------------------


def invoice_row(org_id: int, tz, data: dict) -> XeroInvoice:
    day = xero_date(data["Date"])
    contact = data.get("Contact") or {}
    return XeroInvoice(
        organization_id=org_id,
        xero_id=uuid.UUID(data["InvoiceID"]),
        number=data.get("InvoiceNumber") or "",
        reference=data.get("Reference") or "",
        contact_xero_id=contact.get("ContactID"),
        contact_name=contact.get("Name") or "",
        type=data["Type"],
        status=data["Status"],
        date=day,
        dated_at=_local_midnight(day, tz),
        line_amount_types=data.get("LineAmountTypes") or "",
        sub_total_cents=cents(data.get("SubTotal")),
        total_tax_cents=cents(data.get("TotalTax")),
        total_cents=cents(data.get("Total")),
        line_count=max(1, len(data.get("LineItems") or [])),
        updated_utc=_instant(data["UpdatedDateUTC"]),
        counts=rules.invoice_counts(data["Type"], data["Status"]),
        raw=data,
    )


def credit_note_row(org_id: int, tz, data: dict) -> XeroCreditNote:
    day = xero_date(data["Date"])
    return XeroCreditNote(
        organization_id=org_id,
        xero_id=uuid.UUID(data["CreditNoteID"]),
        number=data.get("CreditNoteNumber") or "",
        type=data["Type"],
        status=data["Status"],
        date=day,
        dated_at=_local_midnight(day, tz),
        sub_total_cents=cents(data.get("SubTotal")),
        total_tax_cents=cents(data.get("TotalTax")),
        total_cents=cents(data.get("Total")),
        allocations=[
            {"invoice": a["Invoice"]["InvoiceID"], "amount_cents": cents(a.get("Amount"))}
            for a in data.get("Allocations") or []
            if a.get("Invoice")
        ],
        updated_utc=_instant(data["UpdatedDateUTC"]),
        counts=rules.credit_note_counts(data["Type"], data["Status"]),
        raw=data,
    )


def payment_row(org_id: int, tz, data: dict) -> XeroPayment:
    day = xero_date(data["Date"])
    invoice = data.get("Invoice") or {}
    return XeroPayment(
        organization_id=org_id,
        xero_id=uuid.UUID(data["PaymentID"]),
        invoice_xero_id=invoice.get("InvoiceID"),
        status=data["Status"],
        payment_type=data.get("PaymentType") or "",
        date=day,
        dated_at=_local_midnight(day, tz),
        amount_cents=cents(data.get("Amount")),
        updated_utc=_instant(data["UpdatedDateUTC"]),
        counts=rules.payment_counts(data["Status"], invoice.get("Type")),
        raw=data,
    )


ROWS: dict[str, tuple[Any, Callable[..., Any]]] = {
    "invoices": (XeroInvoice, invoice_row),
    "credit_notes": (XeroCreditNote, credit_note_row),
    "payments": (XeroPayment, payment_row),
}


def _upsert(org_id: int, endpoint: str, rows: list, tz) -> set[dt.date]:
    """Insert or update rows on (organisation, Xero id); the local days they moved (before
    and after)."""
    model, _ = ROWS[endpoint]
    ids = [r.xero_id for r in rows]
    old = model.objects.filter(organization_id=org_id, xero_id__in=ids).values_list(
        "dated_at", flat=True
    )
    days = {d.astimezone(tz).date() for d in old} | {r.dated_at.astimezone(tz).date() for r in rows}
    fields = [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in ("id", "organization", "xero_id")
    ]
    model.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["organization", "xero_id"], update_fields=fields
    )
    if endpoint == "invoices":
        contacts = {
            (r.contact_xero_id): r.contact_name for r in rows if r.contact_xero_id is not None
        }
        XeroContact.objects.bulk_create(
            [
                XeroContact(organization_id=org_id, xero_id=cid, name=name)
                for cid, name in contacts.items()
            ],
            update_conflicts=True,
            unique_fields=["organization", "xero_id"],
            update_fields=["name"],
        )
    return days


# --- the run -------------------------------------------------------------------------------


def _lock_key(org_id: int) -> int:
    return zlib.crc32(f"xero-sync:{org_id}".encode())


def sync_organization(
    org_id: int,
    *,
    full: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
) -> XeroSyncRun:
    """Sync one organisation, then match it; the run, succeeded or failed (then re-raised)."""
    org = Organization.objects.get(pk=org_id)
    conn = XeroConnection.objects.get(organization_id=org_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(org_id)])
        if not cursor.fetchone()[0]:
            raise SyncBusy(f"A Xero sync of organisation {org_id} is already running")
    run = XeroSyncRun.objects.create(organization_id=org_id, full=full)
    client = XeroClient(conn, sleep=sleep)
    try:
        days, counts = _sync(org, client, full, progress)
        matched = match_organization(org_id)
        tz = zoneinfo.ZoneInfo(org.timezone)
        days |= {at.astimezone(tz).date() for at in matched.pop("unbilled_days")}
        counts |= matched
        if days:
            ledger_changed.send(sender=XeroSyncRun, organization_id=org_id, days=days)
        run.status = SyncStatus.SUCCEEDED
        run.counts = counts
        return run
    except Exception as error:
        run.status = SyncStatus.FAILED
        run.error = f"{type(error).__name__}: {error}"[:2000]
        log.warning("xero sync of organisation %s failed: %s", org_id, run.error)
        raise
    finally:
        run.calls = client.calls
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "counts", "error", "calls", "finished_at"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(org_id)])


def _sync(org, client: XeroClient, full: bool, progress: Progress | None):
    tz = zoneinfo.ZoneInfo(org.timezone)
    days: set[dt.date] = set()
    counts: dict = {}
    size = settings.XERO_PAGE_SIZE
    for endpoint in ENDPOINTS:
        cursor, _ = XeroSyncCursor.objects.get_or_create(organization=org, endpoint=endpoint)
        if full:
            since, page = None, 1
        elif cursor.next_page > 1:  # a pass under way when the last run stopped: resume it
            since, page = cursor.pass_since, cursor.next_page
        else:
            since, page = cursor.high_water, 1
        _, make_row = ROWS[endpoint]
        counts[endpoint] = 0
        while True:
            fetched = client.page(endpoint, page, since, size)
            rows = [make_row(org.pk, tz, item) for item in fetched.items]
            with transaction.atomic():
                if rows:
                    days |= _upsert(org.pk, endpoint, rows, tz)
                    newest = max(r.updated_utc for r in rows)
                    if cursor.high_water is None or newest > cursor.high_water:
                        cursor.high_water = newest
                done = len(rows) < size
                cursor.pass_since = since
                cursor.next_page = 1 if done else page + 1
                cursor.save(update_fields=["high_water", "pass_since", "next_page"])
            counts[endpoint] += len(rows)
            if progress is not None:
                progress(endpoint, page, len(rows))
            if done:
                break
            page += 1
    return days, counts
