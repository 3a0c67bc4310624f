"""The SQL behind a number's records: which records a metric counts (the drill-down, exports,
PDF record lists), and what each contributes to the number in a slice. Built from the source
definitions and the same event views as the number (docs/architecture.md, "Read path").
"""

from __future__ import annotations

from metrics.definitions import Source
from metrics.engine import Slice, slice_sql


def records_sql(
    source: Source, record_measure: str | None, where: Slice, org_id: int, start_at, end_at
) -> tuple[str, list]:
    """SQL (positional parameters) selecting the ids of the records behind a metric: range
    metrics' records have an event in [start_at, end_at) with `record_measure` non-zero; state
    metrics' (`record_measure` None) are open at the instant end_at."""
    source = source.grain(where.dims)
    params: list = []
    conditions = slice_sql(where, params, "e.")
    if record_measure is None:
        sql = (
            f"SELECT e.record_id FROM {source.events} e "
            f"WHERE e.organization_id = %s AND e.ts < %s{conditions} "
            "GROUP BY e.record_id HAVING SUM(e.opened_count) > SUM(e.closed_count)"
        )
        return sql, [org_id, end_at, *params]
    sql = (
        f"SELECT e.record_id FROM {source.events} e "
        f"WHERE e.organization_id = %s AND e.ts >= %s AND e.ts < %s"
        f" AND e.{record_measure} <> 0{conditions}"
    )
    return sql, [org_id, start_at, end_at, *params]


def counted_sql(source: Source, measure: str, where: Slice, table: str) -> tuple[str, list]:
    """SQL (positional parameters) for a correlated subquery: the part of `measure` a record
    of `table` contributes in the slice (an order's revenue in one product category), from the
    same event rows as the number, so a list of records adds up to it."""
    grain = source.grain(where.dims)
    params: list = []
    conditions = slice_sql(where, params, "e.")
    sql = (
        f"SELECT COALESCE(SUM(e.{measure}), 0) FROM {grain.events} e "
        f'WHERE e.organization_id = "{table}"."organization_id" AND e.record_id = "{table}"."id"'
        f"{conditions}"
    )
    return sql, params


def values_sql(grain: Source, dim: str, table: str) -> str:
    """SQL for a correlated subquery: the values of `dim` among a record's events in `grain`
    (an order's product categories), as a sorted array."""
    return (
        f"ARRAY(SELECT DISTINCT e.{dim} FROM {grain.events} e "
        f'WHERE e.organization_id = "{table}"."organization_id" AND e.record_id = "{table}"."id"'
        f" AND e.{dim} IS NOT NULL ORDER BY 1)"
    )
