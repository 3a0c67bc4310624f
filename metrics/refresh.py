"""Refreshing the materialized views, and marking days that changed since.

Tricky: a refresh runs in one REPEATABLE READ transaction, so the view's contents, its new
watermark and the deletion of DirtyDay markers all see the same snapshot. A marker written by
a transaction that commits after that snapshot is invisible to the DELETE and survives, so
its day keeps being read live until the next refresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zlib

from django.db import connection, transaction
from psycopg import sql

from metrics.cache import bump_data_version
from metrics.definitions import VIEW_NAMES
from renoz.accounts.models import Organization

log = logging.getLogger("renoz.metrics.refresh")


def _is_populated(cursor, view: str) -> bool:
    cursor.execute("SELECT ispopulated FROM pg_matviews WHERE matviewname = %s", [view])
    row = cursor.fetchone()
    if row is None:
        raise ValueError(f"No materialized view named {view!r}")
    return bool(row[0])


def refresh_view(view: str) -> dict:
    """Refresh one view (concurrently once populated); returns what it did."""
    if view not in VIEW_NAMES:
        raise ValueError(f"Unknown view {view!r}. Known: {', '.join(VIEW_NAMES)}")
    started = time.perf_counter()
    nested = connection.in_atomic_block  # inside a test's transaction: no isolation change
    with transaction.atomic(), connection.cursor() as cursor:
        if not nested:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s), now()", [zlib.crc32(view.encode())])
        locked, snapshot_at = cursor.fetchone()
        if not locked:
            log.info("refresh %s skipped: another refresh is running", view)
            return {"view": view, "skipped": True}
        concurrently = _is_populated(cursor, view)
        statement = sql.SQL("REFRESH MATERIALIZED VIEW {} {}").format(
            sql.SQL("CONCURRENTLY") if concurrently else sql.SQL(""), sql.Identifier(view)
        )
        cursor.execute(statement)
        cursor.execute(
            "DELETE FROM dashboard_dirtyday WHERE view_name = %s RETURNING organization_id", [view]
        )
        touched = {row[0] for row in cursor.fetchall()}
        cleared = cursor.rowcount
        duration_ms = int((time.perf_counter() - started) * 1000)
        cursor.execute(
            """
            INSERT INTO dashboard_viewrefresh (view_name, refreshed_at, duration_ms)
            VALUES (%s, %s, %s)
            ON CONFLICT (view_name) DO UPDATE
              SET refreshed_at = EXCLUDED.refreshed_at, duration_ms = EXCLUDED.duration_ms
            """,
            [view, snapshot_at, duration_ms],
        )
    log.info(
        "refreshed %s %s in %d ms; cleared %d dirty-day markers",
        view,
        "concurrently" if concurrently else "(first population)",
        duration_ms,
        cleared,
    )
    return {
        "view": view,
        "concurrently": concurrently,
        "ms": duration_ms,
        "cleared": cleared,
        "watermark": snapshot_at,
        "organizations": touched,
    }


def refresh_views(views: list[str] | None = None, *, bump_all: bool = False) -> list[dict]:
    """Refresh the given views (all by default) and bump the data version of every organisation
    whose view rows changed.

    Tricky: the hybrid read is exact before and after a refresh, so a refresh changes no number
    for rows written through the ORM; the organisations it bumps are those with dirty-day
    markers (their rows moved since the last refresh). `bump_all` is for bulk loads that
    bypassed the ORM (seeding, imports): every organisation's cache is dropped.
    """
    results = [refresh_view(v) for v in (views or VIEW_NAMES)]
    if bump_all:
        for org_id in Organization.objects.values_list("pk", flat=True):
            bump_data_version(org_id)
    return results


def mark_dirty(org_id: int, view: str, days: set[dt.date]) -> None:
    """Record days whose rows changed after the last refresh, inside the writer's transaction."""
    if not days:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO dashboard_dirtyday (organization_id, view_name, day, marked_at) VALUES (%s, %s, %s, now())",
            [(org_id, view, day) for day in sorted(days)],
        )
