"""Maintaining the daily summaries (daily_* tables), and marking days that changed since.

Every write through the ORM marks its local days dirty in its own transaction
(metrics.signals). `refresh_changes` brings a summary up to date one organisation at a time:
in one short REPEATABLE READ transaction it reads that organisation's markers, deletes the
summary rows of those days, inserts them again from the event view (index range scans over
just those days), and deletes exactly the markers it read. Its cost grows with the day's
writes, not with history or with the number of organisations. `rebuild_summary` recomputes a
whole summary (the first population, bulk loads that bypassed the ORM, repairs).

Tricky: a marker committed after a step's snapshot is not among those it read, so it survives
and its day is redone by the next step; until then the engine reads that day live. So every
summary day without a marker is exact, and the hybrid reader can trust it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zlib
import zoneinfo

from django.db import DatabaseError, connection, transaction

from accounts.models import Organization
from metrics.cache import bump_data_version
from metrics.coverage import day_spans
from metrics.definitions import SOURCE_BY_SUMMARY, SUMMARY_TABLES, Source
from metrics.engine import group_by_positions, live_sql
from metrics.periods import local_midnight

log = logging.getLogger("renoz.metrics.refresh")

STEP_LOCK_TIMEOUT_MS = 1_000  # a step waits this long for a row lock, then retries next cycle
STEP_STATEMENT_TIMEOUT_MS = 20_000


def _source(table: str) -> Source:
    if table not in SUMMARY_TABLES:
        raise ValueError(f"Unknown summary table {table!r}. Known: {', '.join(SUMMARY_TABLES)}")
    return SOURCE_BY_SUMMARY[table]


def _columns(source: Source) -> str:
    return ", ".join(("organization_id", "day", *source.summary_dims, *source.measures))


def _begin(cursor, nested: bool, *timeouts: str) -> None:
    if not nested:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    for setting in timeouts:
        cursor.execute(setting)


def _set_watermark(cursor, table: str, at: dt.datetime, duration_ms: int) -> None:
    cursor.execute(
        """
        INSERT INTO dashboard_viewrefresh (summary, refreshed_at, duration_ms)
        VALUES (%s, %s, %s)
        ON CONFLICT (summary) DO UPDATE
          SET refreshed_at = EXCLUDED.refreshed_at, duration_ms = EXCLUDED.duration_ms
        """,
        [table, at, duration_ms],
    )


def rebuild_summary(table: str) -> dict:
    """Recompute a whole summary for every organisation in one transaction (readers keep
    seeing the old rows until it commits)."""
    source = _source(table)
    started = time.perf_counter()
    dims = "".join(f", e.{d}" for d in source.summary_dims)
    sums = ", ".join(f"SUM(e.{m})" for m in source.measures)
    group = group_by_positions(2 + len(source.summary_dims))
    nested = connection.in_atomic_block  # inside a test's transaction: no isolation change
    with transaction.atomic(), connection.cursor() as cursor:
        _begin(cursor, nested)
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s), now()", [zlib.crc32(table.encode())])
        locked, snapshot_at = cursor.fetchone()
        if not locked:
            log.info("rebuild %s skipped: another refresh is running", table)
            return {"summary": table, "skipped": True}
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO {table} ({_columns(source)}) "
            f"SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date{dims}, {sums} "
            f"FROM {source.events} e JOIN accounts_organization org ON org.id = e.organization_id "
            f"GROUP BY {group} ORDER BY 1, 2"  # each organisation's days together on disk
        )
        rows = cursor.rowcount
        cursor.execute("DELETE FROM dashboard_dirtyday WHERE summary = %s", [table])
        cleared = cursor.rowcount
        duration_ms = int((time.perf_counter() - started) * 1000)
        _set_watermark(cursor, table, snapshot_at, duration_ms)
    if not nested:
        # Marks the fresh rows all-visible, so reads are index-only scans of the covering key.
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    log.info("rebuilt %s: %d rows in %d ms; cleared %d markers", table, rows, duration_ms, cleared)
    return {"summary": table, "mode": "full", "ms": duration_ms, "rows": rows, "cleared": cleared}


def refresh_organization(table: str, org_id: int, tz: zoneinfo.ZoneInfo) -> dict:
    """Redo one organisation's dirty days of one summary, in one short transaction."""
    source = _source(table)
    started = time.perf_counter()
    nested = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        _begin(
            cursor,
            nested,
            f"SET LOCAL lock_timeout = {STEP_LOCK_TIMEOUT_MS}",
            f"SET LOCAL statement_timeout = {STEP_STATEMENT_TIMEOUT_MS}",
        )
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [zlib.crc32(table.encode()) >> 1, org_id]
        )
        if not cursor.fetchone()[0]:
            return {"summary": table, "organization": org_id, "skipped": True}
        cursor.execute(
            "SELECT id, day FROM dashboard_dirtyday WHERE organization_id = %s AND summary = %s",
            [org_id, table],
        )
        markers = cursor.fetchall()
        if not markers:
            return {"summary": table, "organization": org_id, "days": 0, "rows": 0}
        days = sorted({day for _, day in markers})
        cursor.execute(
            f"DELETE FROM {table} WHERE organization_id = %s AND day = ANY(%s)", [org_id, days]
        )
        parts = [(0, local_midnight(lo, tz), local_midnight(hi, tz)) for lo, hi in day_spans(days)]
        select, params = live_sql(org_id, tz, source, parts, True, source.summary_dims)
        names = ", ".join(("day", *source.summary_dims, *source.measures))
        cursor.execute(
            f"INSERT INTO {table} ({_columns(source)}) SELECT %(org)s, {names} FROM ({select}) q",
            params,
        )
        rows = cursor.rowcount
        cursor.execute(
            "DELETE FROM dashboard_dirtyday WHERE id = ANY(%s)", [[m[0] for m in markers]]
        )
    return {
        "summary": table,
        "organization": org_id,
        "days": len(days),
        "rows": rows,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def refresh_changes(table: str) -> dict:
    """Bring one summary up to date, organisation by organisation (a first population when it
    was never built)."""
    _source(table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now() FROM dashboard_viewrefresh WHERE summary = %s", [table])
        row = cursor.fetchone()
        if row is None:
            return rebuild_summary(table)
        cycle_start = row[0]
        cursor.execute(
            """
            SELECT d.organization_id, o.timezone
              FROM (SELECT DISTINCT organization_id FROM dashboard_dirtyday
                     WHERE summary = %s) d
              JOIN accounts_organization o ON o.id = d.organization_id
            """,
            [table],
        )
        organizations = cursor.fetchall()
    started = time.perf_counter()
    steps, failed = [], []
    for org_id, tz_name in organizations:
        try:
            steps.append(refresh_organization(table, org_id, zoneinfo.ZoneInfo(tz_name)))
        except DatabaseError as exc:  # a lock or statement timeout: its markers stay for later
            log.warning("refresh %s for organisation %s deferred: %s", table, org_id, exc)
            failed.append(org_id)
    duration_ms = int((time.perf_counter() - started) * 1000)
    with transaction.atomic(), connection.cursor() as cursor:
        _set_watermark(cursor, table, cycle_start, duration_ms)
    days = sum(s.get("days", 0) for s in steps)
    log.info(
        "refreshed %s: %d organisation(s), %d day(s) in %d ms%s",
        table,
        len(steps),
        days,
        duration_ms,
        f"; deferred {len(failed)}" if failed else "",
    )
    return {
        "summary": table,
        "mode": "incremental",
        "ms": duration_ms,
        "organizations": len(steps),
        "organization_ids": [s["organization"] for s in steps],
        "days": days,
        "deferred": failed,
        "slowest_step_ms": max((s.get("ms", 0) for s in steps), default=0),
    }


def refresh_summaries(
    tables: list[str] | None = None, *, incremental: bool = False, bump_all: bool = False
) -> list[dict]:
    """Bring the given summaries (all by default) up to date: only the changed organisation
    days when `incremental`, else a full rebuild.

    Tricky: the hybrid read is exact before and after a refresh, so a refresh changes no number
    for rows written through the ORM and drops no cached value. `bump_all` is for bulk loads
    that bypassed the ORM (seeding, imports): every organisation's cache is dropped.
    """
    step = refresh_changes if incremental else rebuild_summary
    results = [step(v) for v in (tables or SUMMARY_TABLES)]
    if bump_all:
        for org_id in Organization.objects.values_list("pk", flat=True):
            bump_data_version(org_id)
    return results


def mark_dirty(org_id: int, table: str, days: set[dt.date]) -> None:
    """Record days whose rows changed after the last refresh, inside the writer's transaction."""
    if not days:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO dashboard_dirtyday (organization_id, summary, day, marked_at) VALUES (%s, %s, %s, now())",
            [(org_id, table, day) for day in sorted(days)],
        )
