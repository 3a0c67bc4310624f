"""The open tail's SQL stays an index range scan of a few hours, and the daily summaries stay
readable from their index alone (docs/scaling.md, issue 25: the history-cached page's
statements).

A tail read (metrics.engine.live_sql) bounds the event view's `ts` by constants; PostgreSQL
pushes the bounds into every UNION ALL arm of the view, where `ts` is that arm's own timestamp
expression (`GREATEST(created_at, closed_at)` for a closed opportunity). That arm is an index
range scan only if an index starts with the organisation and then that very expression. Which
plan the planner picks on a small fixture is not deterministic, so these tests pin the two
things it needs: the bound reaches every arm as a sargable predicate (the bare expression
compared with constants), and an index matching each such predicate exists.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo

import pytest
from django.db import connection

from metrics.definitions import GRAINS
from metrics.engine import live_sql

pytestmark = pytest.mark.django_db

TZ = zoneinfo.ZoneInfo("Australia/Sydney")
# A tail: a local day's first hours (what a page reads after its closed days come from cache).
TAIL = (dt.datetime(2026, 3, 2, tzinfo=TZ), dt.datetime(2026, 3, 2, 9, 30, tzinfo=TZ))
BOUND = "'::timestamp with time zone"
JOINS = ("Nested Loop", "Hash Join", "Merge Join")  # EXPLAIN's node types


def _tail_sql(grain) -> tuple[str, dict]:
    return live_sql(1, TZ, grain, [(0, *TAIL)], True, grain.summary_dims)


def _plan(grain) -> dict:
    """The tail read's plan with index scans switched off, so each base relation shows the
    predicates pushed down to it as its Filter."""
    sql, params = _tail_sql(grain)
    with connection.cursor() as cursor:
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]


def _children(node: dict) -> list[dict]:
    """A node's row sources (its subplans, scalar look-ups, are not)."""
    return [
        child
        for child in node.get("Plans", [])
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan")
    ]


def _scans(node: dict) -> list[dict]:
    """Every sequential scan under `node`, subplans included."""
    found = [node] if node["Node Type"] == "Seq Scan" else []
    for child in node.get("Plans", []):
        found += _scans(child)
    return found


def _unbounded(node: dict) -> list[str]:
    """The tables a plan reads rows from without the tail's bounds: a scan whose filter has
    none, unless it only looks rows up for a bounded side of a join (a LATERAL's order items,
    a payment's invoice); every arm of an Append must be bounded."""
    if node["Node Type"] == "Seq Scan":
        return [] if _bounded(node.get("Filter") or "") else [node["Relation Name"]]
    sides = [_unbounded(child) for child in _children(node)]
    if node["Node Type"] in JOINS and any(not side for side in sides):
        return []
    return [table for side in sides for table in side]


def _bounded(condition: str) -> list[str]:
    """The expressions a condition compares with a lower timestamp bound: `(expr >= '…'::
    timestamp with time zone)` gives `expr` (balanced parentheses walked back)."""
    out = []
    for match in re.finditer(r" >= '[^']*" + re.escape(BOUND), condition):
        depth, start = 0, match.start()
        while start > 0:
            start -= 1
            if condition[start] == ")":
                depth += 1
            elif condition[start] == "(":
                if depth == 0:
                    break
                depth -= 1
        out.append(condition[start + 1 : match.start()])
    return out


def _indexes(table: str) -> list[tuple[str, list[str], str | None]]:
    """(name, key columns or expressions as PostgreSQL spells them, partial predicate)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, false)"
            "                        FROM generate_series(1, x.indnkeyatts) k ORDER BY k),"
            "       pg_get_expr(x.indpred, x.indrelid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass",
            [table],
        )
        return [(name, list(keys), predicate) for name, keys, predicate in cursor.fetchall()]


def _serves(keys: list[str], predicate: str | None, expression: str, condition: str) -> bool:
    """Whether an index with these keys ranges over `expression` within one organisation for a
    scan filtered by `condition`: the organisation first, then only columns the condition
    pins to one value, then the expression; a partial index's predicate in the condition."""
    if not keys or keys[0] != "organization_id" or expression not in keys:
        return False
    if predicate is not None and predicate not in condition:
        return False
    pinned = keys[1 : keys.index(expression)]
    return all(re.search(rf"\b{re.escape(k)}\)?(::\w+)? = '", condition) for k in pinned)


@pytest.mark.parametrize("grain", GRAINS, ids=lambda grain: grain.events)
def test_the_tail_bound_reaches_every_arm_of_the_event_view(grain):
    plan = _plan(grain)
    assert _scans(plan), "the tail read scans no table"
    assert _unbounded(plan) == [], f"{grain.events}: read without the tail's bounds"


@pytest.mark.parametrize("grain", GRAINS, ids=lambda grain: grain.events)
def test_every_bounded_scan_of_the_tail_has_an_index_range(grain):
    checked = 0
    for node in _scans(_plan(grain)):
        condition = node.get("Filter") or ""
        for expression in _bounded(condition):
            table = node["Relation Name"]
            serving = [
                name
                for name, keys, predicate in _indexes(table)
                if _serves(keys, predicate, expression, condition)
            ]
            assert serving, (
                f"{grain.events}: no index on {table} starts (organization_id, …, {expression}); "
                "a tail read of it scans the organisation's whole history"
            )
            checked += 1
    assert checked


@pytest.mark.parametrize("grain", GRAINS, ids=lambda grain: grain.events)
def test_the_tail_sql_compares_the_bare_timestamp_with_constants(grain):
    """A cast or time zone applied to `ts` in the WHERE clause would hide it from every index:
    the bounds compare the view's `ts` itself, the local day is worked out only in the select
    list."""
    sql, params = _tail_sql(grain)
    assert len(re.findall(r"\be\.ts (?:>=|<) %\((?:lo|hi)0\)s", sql)) == 2
    assert sql.count("AT TIME ZONE") == 1
    assert re.search(r"AT TIME ZONE[^,]*\)::date AS day", sql)
    assert {params["lo0"], params["hi0"]} == set(TAIL)


@pytest.mark.parametrize("grain", GRAINS, ids=lambda grain: grain.summary)
def test_each_daily_summary_is_read_from_its_index_alone(grain):
    """The engine reads a summary by organisation and a range of days, grouped by its
    dimensions, summing its measures: one index keyed (organization_id, day, *dimensions)
    that includes every measure lets PostgreSQL answer it with an index-only scan."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)"
            "             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum"
            "             ORDER BY k.n), x.indnkeyatts"
            " FROM pg_index x WHERE x.indrelid = %s::regclass",
            [grain.summary],
        )
        indexes = cursor.fetchall()
    wanted_keys = ["organization_id", "day", *grain.summary_dims]
    covering = [
        columns
        for columns, n_keys in indexes
        if list(columns[:n_keys]) == wanted_keys and set(grain.measures) <= set(columns)
    ]
    assert covering, f"{grain.summary} has no index (organization_id, day, …) with its measures"


@pytest.mark.parametrize("grain", GRAINS, ids=lambda grain: grain.events)
def test_a_tail_read_of_two_parts_references_its_event_view_once(grain):
    """Planning, not running, is most of a tail read (each reference to an event view is
    planned arm by arm): today so far and the same hours of the compared period are two parts
    of one read."""
    earlier = tuple(instant - dt.timedelta(days=28) for instant in TAIL)
    sql, _ = live_sql(1, TZ, grain, [(0, *TAIL), (1, *earlier)], True, grain.summary_dims)
    assert sql.count(f" {grain.events} ") == 1
