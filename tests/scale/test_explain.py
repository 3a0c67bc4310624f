"""Tenancy first: the hot queries read one organisation through indexes that start with
organization_id, and never scan across organisations.

Two benchmark organisations share the tables: a large one (the neighbours) and a small one
(the reader), so that, as in production, one organisation is a sliver of every table and the
planner's own choice (no enable_seqscan tricks) shows whether an index can isolate it. The
real functions run under CaptureQueriesContext; each captured SELECT is then EXPLAINed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from metrics.definitions import METRICS, SOURCES
from metrics.models import DirtyDay
from metrics.periods import parse_state
from metrics.queries import get_breakdown, get_metrics, get_timeseries, metric_records
from operations.seeding import BENCHMARK_VOLUMES, Volume, seed_benchmark_org
from presentation.widgets import feed_page
from targets.models import Target
from targets.queries import targets_for_state

pytestmark = pytest.mark.django_db
TENANT_TABLE = re.compile(r"^(operations|dashboard|daily|targets|reports|insights)_")
NEIGHBOURS = Volume(customers=1_500, opportunities=6_000, orders=3_000, activities=12_000, years=3)
READER = Volume(customers=40, opportunities=200, orders=100, activities=1_000, years=3)

# Tables of those families that have no organization_id, and why that is fine.
NOT_TENANT_TABLES = {
    "dashboard_viewrefresh": "one row per daily summary table (its watermark), for all tenants",
    "reports_reportrun": "runs of a scheduled report; reached through the report, which is "
    "scoped (reports_scheduledreport.organization_id)",
}
# Tenant tables small enough that the planner reads them whole and hashes them (a catalogue of
# a few dozen rows per organisation), joined by primary key from rows already scoped to one
# organisation: the product catalogue behind an order's lines by category.
CATALOGUE_TABLES = {"operations_product"}
# Indexes on tenant tables whose first column is not organization_id, by (table, columns).
# None serves a read of one organisation's rows; each finds rows from a key of a row already
# scoped to one organisation (or serves the Celery scheduler, which works for all tenants).
FOREIGN_KEY = "foreign-key index: cascades and lookups from one (already scoped) parent row"
PER_USER = "a user's own rows; a user belongs to exactly one organisation"
NOT_ORG_FIRST = {
    ("dashboard_dashboardlayout", ("user_id",)): "one saved layout per user (unique); " + PER_USER,
    ("dashboard_personallayout", ("user_id",)): "one per user (unique); " + PER_USER,
    ("dashboard_exportjob", ("user_id",)): FOREIGN_KEY,
    ("dashboard_userstatisticsdaily", ("user_id",)): FOREIGN_KEY,
    ("dashboard_userstatisticsdaily", ("user_id", "date")): "unique per user and day; " + PER_USER,
    ("insights_dismissedfinding", ("user_id",)): FOREIGN_KEY,
    ("insights_dismissedfinding", ("user_id", "finding_id")): "unique per user; " + PER_USER,
    ("operations_activity", ("customer_id",)): FOREIGN_KEY,
    ("operations_activity", ("opportunity_id",)): FOREIGN_KEY,
    ("operations_activity", ("user_id",)): FOREIGN_KEY,
    ("operations_installationjob", ("customer_id",)): FOREIGN_KEY,
    ("operations_installationjob", ("order_id",)): FOREIGN_KEY,
    ("operations_installationjob", ("technician_id",)): FOREIGN_KEY,
    ("operations_jobevent", ("actor_id",)): FOREIGN_KEY,
    ("operations_jobevent", ("job_id",)): FOREIGN_KEY,
    ("operations_opportunity", ("customer_id",)): FOREIGN_KEY,
    ("operations_opportunity", ("owner_id",)): FOREIGN_KEY,
    ("operations_order", ("customer_id",)): FOREIGN_KEY,
    ("operations_order", ("opportunity_id",)): FOREIGN_KEY,
    ("operations_orderitem", ("order_id",)): FOREIGN_KEY,
    ("operations_orderitem", ("product_id",)): FOREIGN_KEY,
    ("operations_warrantyclaim", ("customer_id",)): FOREIGN_KEY,
    ("operations_warrantyclaim", ("order_id",)): FOREIGN_KEY,
    ("operations_warrantyclaim", ("product_id",)): FOREIGN_KEY,
    ("reports_scheduledreport", ("owner_id",)): FOREIGN_KEY,
    ("targets_target", ("user_id",)): FOREIGN_KEY,
    ("dashboard_viewrefresh", ("summary",)): NOT_TENANT_TABLES["dashboard_viewrefresh"],
    ("reports_reportrun", ("report_id",)): NOT_TENANT_TABLES["reports_reportrun"],
    ("reports_reportrun", ("report_id", "slot")): NOT_TENANT_TABLES["reports_reportrun"],
    ("reports_reportrun", ("status", "next_attempt_at")): "the scheduler's queue of due runs, "
    "for all tenants (a Celery task, never a request)",
}
# A keyed lookup: an index condition equating its first column with a column of the outer row
# (a primary key or a foreign key reached from a row of the one organisation).
KEYED_LOOKUP = re.compile(r"^\(\(?(\w+)\)? = \(?[\w.]+\.\w+\)?\)$")


def _seed(name: str, volume: Volume, n: int):
    BENCHMARK_VOLUMES[name] = volume
    try:
        result = seed_benchmark_org(
            volume_name=name, n=n, seed=42, now=timezone.now(), progress=False
        )
    finally:
        del BENCHMARK_VOLUMES[name]
    assert result is not None
    return result.organization


@pytest.fixture(scope="module")
def tenants(django_db_setup, django_db_blocker):
    """(reader, its admin, the neighbours): seeded once for the module, rolled back after."""
    with django_db_blocker.unblock():
        # Tricky: earlier tests' rolled-back rows leave the summary tables and their keys many
        # times larger than their rows (nothing vacuums a test database), and the planner then
        # prices a whole-table read below the index. Compact them first, as autovacuum would.
        with connection.cursor() as cursor:
            for source in SOURCES.values():
                cursor.execute(f"VACUUM FULL {source.summary}")
    with django_db_blocker.unblock(), transaction.atomic():
        neighbours = _seed("explain_neighbours", NEIGHBOURS, 1)
        reader = _seed("explain_reader", READER, 2)
        today = timezone.now().astimezone(reader.tz).date()
        months = [dt.date(2020 + m // 12, m % 12 + 1, 1) for m in range(72)]
        Target.objects.bulk_create(
            [
                Target(
                    organization=org,
                    metric=key,
                    period_kind="month",
                    period_start=month,
                    value=Decimal(1000),
                )
                for org, keys, span in (
                    (neighbours, list(METRICS), months),
                    (reader, ["revenue"], months[-12:]),
                )
                for key in keys
                for month in span
            ]
        )
        with connection.cursor() as cursor:
            # Warranty claims are few per order: copies of the neighbours' claims, spread over
            # earlier days, make that table (and its daily summary) large enough to need its index too.
            cursor.execute(
                """
                INSERT INTO operations_warrantyclaim (created_at, kind, status, opened_at,
                    resolved_at, cost_cents, customer_id, order_id, organization_id, product_id)
                SELECT created_at - k * interval '5 days', kind, status,
                       opened_at - k * interval '5 days', resolved_at - k * interval '5 days',
                       cost_cents, customer_id, order_id, organization_id, product_id
                FROM operations_warrantyclaim, generate_series(1, 20) k
                WHERE organization_id = %s
                """,
                [neighbours.pk],
            )
        call_command("refresh_daily_summaries", stdout=io.StringIO())
        # Writes since the refresh: the last days of both are read live.
        DirtyDay.objects.bulk_create(
            [
                DirtyDay(organization=org, summary=view, day=today - dt.timedelta(days=d))
                for org, days in ((neighbours, 400), (reader, 3))
                for view in ("daily_sales", "daily_pipeline", "daily_activities")
                for d in range(1, days + 1)
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        admin = User.objects.get(organization=reader)
        yield reader, admin, neighbours
        transaction.set_rollback(True)


def _first_columns() -> dict[str, str]:
    """index name -> its first column (or expression)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname, pg_get_indexdef(x.indexrelid, 1, true)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = i.relnamespace
            WHERE n.nspname = current_schema()
            """
        )
        return dict(cursor.fetchall())


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _problems(sql: str, first_columns: dict[str, str]) -> list[str]:
    """Every scan of a tenant table in the statement's plan that is not an index scan on an
    organization_id-first index with organization_id in its condition, nor a keyed lookup."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    problems = []
    for node in _nodes(plan):
        relation = node.get("Relation Name", "")
        kind = node["Node Type"]
        if not TENANT_TABLE.match(relation) or relation in NOT_TENANT_TABLES:
            continue
        if relation in CATALOGUE_TABLES and kind == "Seq Scan":
            continue
        if kind in ("Index Scan", "Index Only Scan"):
            probes = [node]
        elif kind == "Bitmap Heap Scan":
            probes = [n for n in _nodes(node) if n["Node Type"] == "Bitmap Index Scan"]
        else:
            problems.append(f"{kind} on {relation}")
            continue
        for probe in probes:
            index, condition = probe["Index Name"], probe.get("Index Cond", "")
            first = first_columns[index]
            org_first = first == "organization_id" and "organization_id = " in condition
            keyed = KEYED_LOOKUP.match(condition)
            if not (org_first or (keyed and keyed[1] == first)):
                problems.append(f"{probe['Node Type']} {index} on {relation} ({condition})")
    return problems


def _selects(captured) -> list[str]:
    return [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]


def _explain_all(run) -> tuple[list[str], list[str]]:
    """Run `run`, then EXPLAIN each SELECT it sent: the statements and their problems."""
    with CaptureQueriesContext(connection) as captured:
        run()
    statements = _selects(captured.captured_queries)
    assert statements, "the function ran no SELECT"
    first_columns = _first_columns()
    report = []
    for sql in statements:
        report += [f"{problem}\n    in: {sql[:300]}" for problem in _problems(sql, first_columns)]
    return statements, report


def _state(org, preset="last_30_days"):
    return parse_state({"range": preset, "compare": "previous_period"}, org)


def test_hybrid_metric_read_of_a_month_uses_tenant_indexes(tenants):
    reader, _admin, _ = tenants
    state = _state(reader)
    statements, problems = _explain_all(lambda: get_metrics(reader, state, use_cache=False))
    text = "\n".join(statements)
    # The month's whole days from the daily summaries, its dirty days and today live, and the coverage.
    assert "daily_" in text, "no summary read: are the daily summaries refreshed?"
    assert "metric_events_" in text, "no live read"
    assert "dashboard_dirtyday" in text, "no coverage lookup"
    assert problems == [], "\n".join(problems)


def test_daily_series_and_breakdown_use_tenant_indexes(tenants):
    reader, _admin, _ = tenants
    state = _state(reader, "this_quarter")

    def run():
        get_timeseries(reader, state, "revenue", "day", use_cache=False)
        get_timeseries(reader, state, "pipeline_value", "week", use_cache=False)
        get_breakdown(reader, state, "revenue", "customer_state", use_cache=False)

    _statements, problems = _explain_all(run)
    assert problems == [], "\n".join(problems)


def test_drill_down_records_use_tenant_indexes(tenants):
    reader, _admin, _ = tenants
    now = timezone.now()
    start = now - dt.timedelta(days=30)

    def run():
        for key in ("revenue", "pipeline_value", "active_installations", "new_customers"):
            list(metric_records(reader, key, start, now)[:50])

    statements, problems = _explain_all(run)
    assert any("metric_events_" in sql for sql in statements)
    assert problems == [], "\n".join(problems)


def test_activity_feed_uses_tenant_indexes(tenants):
    reader, admin, _ = tenants
    statements, problems = _explain_all(lambda: feed_page(reader, admin, now=timezone.now()))
    assert any("operations_activity" in sql for sql in statements)
    assert problems == [], "\n".join(problems)


def test_targets_lookup_uses_tenant_indexes(tenants):
    reader, _admin, _ = tenants
    state = _state(reader, "this_financial_year")
    statements, problems = _explain_all(
        lambda: targets_for_state(reader, state, ["revenue", "orders", "kwh_deployed"])
    )
    assert any("targets_target" in sql for sql in statements)
    assert problems == [], "\n".join(problems)


def test_every_index_on_tenant_tables_starts_with_organization_id_or_says_why(tenants):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, i.relname, x.indisprimary,
                   array(SELECT pg_get_indexdef(x.indexrelid, k, true)
                         FROM generate_series(1, x.indnkeyatts) k),
                   EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                           AND a.attname = 'organization_id' AND NOT a.attisdropped)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = current_schema()
              AND t.relname ~ '^(operations|dashboard|daily|targets|reports|insights)_'
            ORDER BY 1, 2
            """
        )
        rows = cursor.fetchall()
    assert len(rows) > 50
    unexplained = []
    seen = set()
    for table, index, primary, columns, has_org in rows:
        if not has_org and table not in NOT_TENANT_TABLES:
            unexplained.append(f"{table} has no organization_id (add it to NOT_TENANT_TABLES?)")
        if columns[0] == "organization_id":
            continue
        if primary and columns == ["id"]:
            continue  # a primary key: one row by id; every read also filters organization_id
        key = (table, tuple(columns))
        seen.add(key)
        if key not in NOT_ORG_FIRST:
            unexplained.append(f"{index} on {table} ({', '.join(columns)})")
    assert unexplained == [], "Indexes without organization_id first:\n" + "\n".join(unexplained)
    assert set(NOT_ORG_FIRST) <= seen, f"stale exceptions: {set(NOT_ORG_FIRST) - seen}"


def test_the_check_catches_a_read_without_its_tenant_index(tenants):
    """Without the order table's organization_id indexes, the revenue read has to scan across
    organisations, and the check says so (the DROP is rolled back with the test)."""
    reader, _admin, _ = tenants
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks block ALTER TABLE
        cursor.execute(
            "SELECT indexname, indexname IN (SELECT conname FROM pg_constraint) "
            "FROM pg_indexes WHERE tablename = 'operations_order' "
            "AND indexdef LIKE '%%(organization_id%%'"
        )
        for index, constraint in cursor.fetchall():
            if constraint:
                cursor.execute(f'ALTER TABLE operations_order DROP CONSTRAINT "{index}"')
            else:
                cursor.execute(f'DROP INDEX "{index}"')
    _statements, problems = _explain_all(
        lambda: get_metrics(reader, _state(reader), ["revenue"], use_cache=False)
    )
    assert any("operations_order" in problem for problem in problems), problems
