"""The event sources behind the materialized views, in SQL that mirrors migrations_sql/ exactly.

Each source has a view (day grain, some dimensions, additive measures) and the same events
read live from the base tables for any set of time windows. The hybrid reader in
dashboard.engine takes whole days from the view and everything else from here; the
property tests prove the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str
    view: str
    dims: tuple[str, ...]
    measures: tuple[str, ...]
    # Events as SELECT statements producing (ts, <dims>, <measures>) for %(org)s, limited to
    # ts in [w.a, w.b): they run LATERAL to each window row `w` (a is -infinity for "ever").
    events_sql: str


def _window(expr: str) -> str:
    return f"{expr} >= w.a AND {expr} < w.b"


SALES = Source(
    name="sales",
    view="mv_daily_metrics",
    dims=(),
    measures=("revenue_cents", "orders", "kwh_sold"),
    events_sql=f"""
        SELECT o.ordered_at AS ts, o.total_cents AS revenue_cents, 1 AS orders,
               COALESCE((SELECT SUM(i.kwh) FROM operations_orderitem i WHERE i.order_id = o.id), 0)
                 AS kwh_sold
        FROM operations_order o
        WHERE o.organization_id = %(org)s AND o.status IN ('confirmed', 'fulfilled')
          AND {_window("o.ordered_at")}
    """,
)

PIPELINE = Source(
    name="pipeline",
    view="mv_daily_pipeline",
    dims=("stage",),
    measures=(
        "opened_count",
        "opened_value",
        "opened_weighted",
        "closed_count",
        "closed_value",
        "closed_weighted",
    ),
    events_sql=f"""
        SELECT p.created_at AS ts, p.stage, 1 AS opened_count, p.value_cents AS opened_value,
               p.value_cents * p.probability AS opened_weighted,
               0 AS closed_count, 0 AS closed_value, 0 AS closed_weighted
        FROM operations_opportunity p
        WHERE p.organization_id = %(org)s AND {_window("p.created_at")}
        UNION ALL
        SELECT GREATEST(p.created_at, p.closed_at), p.stage, 0, 0, 0, 1, p.value_cents,
               p.value_cents * p.probability
        FROM operations_opportunity p
        WHERE p.organization_id = %(org)s AND p.closed_at IS NOT NULL
          AND {_window("GREATEST(p.created_at, p.closed_at)")}
    """,
)

JOBS = Source(
    name="jobs",
    view="mv_daily_jobs",
    dims=("status",),
    measures=("opened_count", "closed_count", "completed_count", "completed_kwh", "labor_hours"),
    events_sql=f"""
        SELECT j.created_at AS ts, j.status, 1 AS opened_count, 0 AS closed_count,
               0 AS completed_count, 0::numeric AS completed_kwh, 0::numeric AS labor_hours
        FROM operations_installationjob j
        WHERE j.organization_id = %(org)s AND {_window("j.created_at")}
        UNION ALL
        SELECT GREATEST(j.created_at, LEAST(j.completed_at, j.cancelled_at)), j.status, 0, 1, 0, 0, 0
        FROM operations_installationjob j
        WHERE j.organization_id = %(org)s
          AND (j.completed_at IS NOT NULL OR j.cancelled_at IS NOT NULL)
          AND {_window("GREATEST(j.created_at, LEAST(j.completed_at, j.cancelled_at))")}
        UNION ALL
        SELECT j.completed_at, j.status, 0, 0, 1, j.kwh, j.labor_hours
        FROM operations_installationjob j
        WHERE j.organization_id = %(org)s AND j.status = 'completed' AND j.completed_at IS NOT NULL
          AND {_window("j.completed_at")}
    """,
)

WARRANTY = Source(
    name="warranty",
    view="mv_daily_warranty",
    dims=("kind", "status"),
    measures=("opened_count", "opened_cost", "closed_count"),
    events_sql=f"""
        SELECT c.opened_at AS ts, c.kind, c.status, 1 AS opened_count, c.cost_cents AS opened_cost,
               0 AS closed_count
        FROM operations_warrantyclaim c
        WHERE c.organization_id = %(org)s AND {_window("c.opened_at")}
        UNION ALL
        SELECT GREATEST(c.opened_at, c.resolved_at), c.kind, c.status, 0, 0, 1
        FROM operations_warrantyclaim c
        WHERE c.organization_id = %(org)s AND c.resolved_at IS NOT NULL
          AND {_window("GREATEST(c.opened_at, c.resolved_at)")}
    """,
)

CUSTOMERS = Source(
    name="customers",
    view="mv_daily_customers",
    dims=(),
    measures=("opened_count", "closed_count"),
    events_sql=f"""
        SELECT c.created_at AS ts, 1 AS opened_count, 0 AS closed_count
        FROM operations_customer c
        WHERE c.organization_id = %(org)s AND {_window("c.created_at")}
        UNION ALL
        SELECT GREATEST(c.created_at, c.archived_at), 0, 1
        FROM operations_customer c
        WHERE c.organization_id = %(org)s AND c.archived_at IS NOT NULL
          AND {_window("GREATEST(c.created_at, c.archived_at)")}
    """,
)

ACTIVITIES = Source(
    name="activities",
    view="mv_daily_activities",
    dims=("kind",),
    measures=("activity_count",),
    events_sql=f"""
        SELECT a.occurred_at AS ts, a.kind, 1 AS activity_count
        FROM operations_activity a
        WHERE a.organization_id = %(org)s AND {_window("a.occurred_at")}
    """,
)

SOURCES: dict[str, Source] = {
    s.name: s for s in (SALES, PIPELINE, JOBS, WARRANTY, CUSTOMERS, ACTIVITIES)
}
SOURCE_BY_VIEW: dict[str, Source] = {s.view: s for s in SOURCES.values()}
