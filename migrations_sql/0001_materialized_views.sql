-- Materialized views for the dashboard. Days are local days in each organisation's timezone.
-- Each view has a unique index on plain columns so REFRESH ... CONCURRENTLY works.
-- "opened"/"closed" measures feed state metrics: a row is open at T when it opened before T and
-- did not close before T; closed events are dated GREATEST(opened, closed) so that the
-- cumulative (opened - closed) equals that definition even for inconsistent timestamps.

CREATE MATERIALIZED VIEW mv_daily_metrics AS
SELECT o.organization_id,
       (o.ordered_at AT TIME ZONE org.timezone)::date AS day,
       SUM(o.total_cents)::bigint AS revenue_cents,
       COUNT(*)::bigint AS orders,
       COALESCE(SUM(items.kwh), 0)::numeric(14, 2) AS kwh_sold
FROM operations_order o
JOIN accounts_organization org ON org.id = o.organization_id
LEFT JOIN LATERAL (
    SELECT SUM(i.kwh) AS kwh FROM operations_orderitem i WHERE i.order_id = o.id
) items ON TRUE
WHERE o.status IN ('confirmed', 'fulfilled')
GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_metrics_uniq ON mv_daily_metrics (organization_id, day);

CREATE MATERIALIZED VIEW mv_daily_pipeline AS
SELECT organization_id, day, stage,
       SUM(opened_count)::bigint AS opened_count,
       SUM(opened_value)::bigint AS opened_value,
       SUM(opened_weighted)::bigint AS opened_weighted,
       SUM(closed_count)::bigint AS closed_count,
       SUM(closed_value)::bigint AS closed_value,
       SUM(closed_weighted)::bigint AS closed_weighted
FROM (
    SELECT p.organization_id, (p.created_at AT TIME ZONE org.timezone)::date AS day, p.stage,
           1 AS opened_count, p.value_cents AS opened_value,
           p.value_cents * p.probability AS opened_weighted,
           0 AS closed_count, 0 AS closed_value, 0 AS closed_weighted
    FROM operations_opportunity p
    JOIN accounts_organization org ON org.id = p.organization_id
    UNION ALL
    SELECT p.organization_id,
           (GREATEST(p.created_at, p.closed_at) AT TIME ZONE org.timezone)::date, p.stage,
           0, 0, 0, 1, p.value_cents, p.value_cents * p.probability
    FROM operations_opportunity p
    JOIN accounts_organization org ON org.id = p.organization_id
    WHERE p.closed_at IS NOT NULL
) events
GROUP BY 1, 2, 3
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_pipeline_uniq ON mv_daily_pipeline (organization_id, day, stage);

CREATE MATERIALIZED VIEW mv_daily_jobs AS
SELECT organization_id, day, status,
       SUM(opened_count)::bigint AS opened_count,
       SUM(closed_count)::bigint AS closed_count,
       SUM(completed_count)::bigint AS completed_count,
       SUM(completed_kwh)::numeric(14, 2) AS completed_kwh,
       SUM(labor_hours)::numeric(14, 2) AS labor_hours
FROM (
    SELECT j.organization_id, (j.created_at AT TIME ZONE org.timezone)::date AS day, j.status,
           1 AS opened_count, 0 AS closed_count, 0 AS completed_count,
           0::numeric AS completed_kwh, 0::numeric AS labor_hours
    FROM operations_installationjob j
    JOIN accounts_organization org ON org.id = j.organization_id
    UNION ALL
    SELECT j.organization_id,
           (GREATEST(j.created_at, LEAST(j.completed_at, j.cancelled_at)) AT TIME ZONE org.timezone)::date,
           j.status, 0, 1, 0, 0, 0
    FROM operations_installationjob j
    JOIN accounts_organization org ON org.id = j.organization_id
    WHERE j.completed_at IS NOT NULL OR j.cancelled_at IS NOT NULL
    UNION ALL
    SELECT j.organization_id, (j.completed_at AT TIME ZONE org.timezone)::date, j.status,
           0, 0, 1, j.kwh, j.labor_hours
    FROM operations_installationjob j
    JOIN accounts_organization org ON org.id = j.organization_id
    WHERE j.status = 'completed' AND j.completed_at IS NOT NULL
) events
GROUP BY 1, 2, 3
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_jobs_uniq ON mv_daily_jobs (organization_id, day, status);

CREATE MATERIALIZED VIEW mv_daily_warranty AS
SELECT organization_id, day, kind, status,
       SUM(opened_count)::bigint AS opened_count,
       SUM(opened_cost)::bigint AS opened_cost,
       SUM(closed_count)::bigint AS closed_count
FROM (
    SELECT c.organization_id, (c.opened_at AT TIME ZONE org.timezone)::date AS day, c.kind, c.status,
           1 AS opened_count, c.cost_cents AS opened_cost, 0 AS closed_count
    FROM operations_warrantyclaim c
    JOIN accounts_organization org ON org.id = c.organization_id
    UNION ALL
    SELECT c.organization_id,
           (GREATEST(c.opened_at, c.resolved_at) AT TIME ZONE org.timezone)::date, c.kind, c.status,
           0, 0, 1
    FROM operations_warrantyclaim c
    JOIN accounts_organization org ON org.id = c.organization_id
    WHERE c.resolved_at IS NOT NULL
) events
GROUP BY 1, 2, 3, 4
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_warranty_uniq ON mv_daily_warranty (organization_id, day, kind, status);

CREATE MATERIALIZED VIEW mv_daily_customers AS
SELECT organization_id, day,
       SUM(opened_count)::bigint AS opened_count,
       SUM(closed_count)::bigint AS closed_count
FROM (
    SELECT c.organization_id, (c.created_at AT TIME ZONE org.timezone)::date AS day,
           1 AS opened_count, 0 AS closed_count
    FROM operations_customer c
    JOIN accounts_organization org ON org.id = c.organization_id
    UNION ALL
    SELECT c.organization_id,
           (GREATEST(c.created_at, c.archived_at) AT TIME ZONE org.timezone)::date, 0, 1
    FROM operations_customer c
    JOIN accounts_organization org ON org.id = c.organization_id
    WHERE c.archived_at IS NOT NULL
) events
GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_customers_uniq ON mv_daily_customers (organization_id, day);

CREATE MATERIALIZED VIEW mv_daily_activities AS
SELECT a.organization_id, (a.occurred_at AT TIME ZONE org.timezone)::date AS day, a.kind,
       COUNT(*)::bigint AS activity_count
FROM operations_activity a
JOIN accounts_organization org ON org.id = a.organization_id
GROUP BY 1, 2, 3
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_activities_uniq ON mv_daily_activities (organization_id, day, kind);

CREATE MATERIALIZED VIEW mv_current_state AS
SELECT org.id AS organization_id,
       (SELECT COUNT(*) FROM operations_opportunity p
         WHERE p.organization_id = org.id AND p.closed_at IS NULL)::bigint AS open_opportunities,
       (SELECT COALESCE(SUM(p.value_cents), 0) FROM operations_opportunity p
         WHERE p.organization_id = org.id AND p.closed_at IS NULL)::bigint AS pipeline_value,
       (SELECT COUNT(*) FROM operations_installationjob j
         WHERE j.organization_id = org.id AND j.completed_at IS NULL AND j.cancelled_at IS NULL)::bigint
         AS active_installations,
       (SELECT COUNT(*) FROM operations_warrantyclaim c
         WHERE c.organization_id = org.id AND c.resolved_at IS NULL)::bigint AS open_warranty_claims,
       (SELECT COUNT(*) FROM operations_customer c
         WHERE c.organization_id = org.id AND c.archived_at IS NULL)::bigint AS customer_count,
       now() AS computed_at
FROM accounts_organization org
WITH NO DATA;
CREATE UNIQUE INDEX mv_current_state_uniq ON mv_current_state (organization_id);
