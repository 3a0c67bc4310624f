"""Reads of the xero app, each from one organisation (docs/xero.md)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from xero.models import (
    ExceptionKind,
    ReconciliationNote,
    SyncStatus,
    XeroConnection,
    XeroException,
    XeroMatch,
    XeroSyncRun,
)

EXCEPTION_KINDS = tuple(ExceptionKind.values)


def connection_of(organization) -> XeroConnection | None:
    return XeroConnection.objects.filter(organization_id=organization.pk).first()


def last_runs(organization) -> tuple[XeroSyncRun | None, XeroSyncRun | None]:
    """The latest run, and the latest that succeeded."""
    runs = XeroSyncRun.objects.for_org(organization).order_by("-started_at")
    return runs.first(), runs.filter(status=SyncStatus.SUCCEEDED).first()


DEAD_AFTER = dt.timedelta(hours=1)  # a run still "running" after this was killed


def failed_runs(since: dt.datetime, now: dt.datetime | None = None):
    """Runs since an instant, every organisation, that failed or died (still running after
    DEAD_AFTER: the process was killed): what the system alert reads (docs/xero.md)."""
    now = now or timezone.now()
    return XeroSyncRun.objects.filter(started_at__gte=since).filter(
        Q(status=SyncStatus.FAILED) | Q(status=SyncStatus.RUNNING, started_at__lt=now - DEAD_AFTER)
    )


def exception_counts(organization, start_at: dt.datetime, end_at: dt.datetime) -> dict[str, int]:
    """{kind: exceptions whose difference began in [start_at, end_at)}, every kind present."""
    rows = (
        XeroException.objects.for_org(organization)
        .filter(since__gte=start_at, since__lt=end_at)
        .values("kind")
        .annotate(n=Count("id"))
    )
    found = {row["kind"]: row["n"] for row in rows}
    return {kind: found.get(kind, 0) for kind in EXCEPTION_KINDS}


def matched_orders(organization, start_at: dt.datetime, end_at: dt.datetime) -> int:
    """Orders dated in [start_at, end_at) with at least one invoice matched."""
    return (
        XeroMatch.objects.for_org(organization)
        .filter(order__ordered_at__gte=start_at, order__ordered_at__lt=end_at)
        .values("order_id")
        .distinct()
        .count()
    )


def exceptions(organization, start_at: dt.datetime, end_at: dt.datetime, kind: str | None = None):
    """The exceptions that began in the range, oldest first, with their order and invoice."""
    qs = (
        XeroException.objects.for_org(organization)
        .filter(since__gte=start_at, since__lt=end_at)
        .select_related("order", "order__customer", "invoice")
        .order_by("since", "id")
    )
    return qs.filter(kind=kind) if kind else qs


def notes_by_key(organization, keys) -> dict[str, list[ReconciliationNote]]:
    out: dict[str, list[ReconciliationNote]] = {}
    notes = (
        ReconciliationNote.objects.for_org(organization)
        .filter(exception_key__in=list(keys))
        .select_related("author")
        .order_by("created_at")
    )
    for note in notes:
        out.setdefault(note.exception_key, []).append(note)
    return out


def invoice_url(invoice) -> str:
    """The invoice in Xero's web app."""
    return f"https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={invoice.xero_id}"
