-- Back to materialized views (0003's definitions).
DROP TABLE mv_daily_metrics;
DROP TABLE mv_daily_pipeline;
DROP TABLE mv_daily_jobs;
DROP TABLE mv_daily_warranty;
DROP TABLE mv_daily_customers;
DROP TABLE mv_daily_activities;

CREATE MATERIALIZED VIEW mv_daily_metrics AS
SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date AS day,
       SUM(e.revenue_cents)::bigint AS revenue_cents, SUM(e.orders)::bigint AS orders,
       SUM(e.kwh_sold)::numeric(14, 2) AS kwh_sold
FROM metric_events_sales e JOIN accounts_organization org ON org.id = e.organization_id
GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_metrics_uniq ON mv_daily_metrics (organization_id, day);

CREATE MATERIALIZED VIEW mv_daily_pipeline AS
SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date AS day, e.stage,
       SUM(e.opened_count)::bigint AS opened_count, SUM(e.opened_value)::bigint AS opened_value,
       SUM(e.opened_weighted)::bigint AS opened_weighted,
       SUM(e.closed_count)::bigint AS closed_count, SUM(e.closed_value)::bigint AS closed_value,
       SUM(e.closed_weighted)::bigint AS closed_weighted
FROM metric_events_pipeline e JOIN accounts_organization org ON org.id = e.organization_id
GROUP BY 1, 2, 3
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_pipeline_uniq ON mv_daily_pipeline (organization_id, day, stage);

CREATE MATERIALIZED VIEW mv_daily_jobs AS
SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date AS day, e.status,
       SUM(e.opened_count)::bigint AS opened_count, SUM(e.closed_count)::bigint AS closed_count,
       SUM(e.completed_count)::bigint AS completed_count,
       SUM(e.completed_kwh)::numeric(14, 2) AS completed_kwh,
       SUM(e.labor_hours)::numeric(14, 2) AS labor_hours
FROM metric_events_jobs e JOIN accounts_organization org ON org.id = e.organization_id
GROUP BY 1, 2, 3
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_jobs_uniq ON mv_daily_jobs (organization_id, day, status);

CREATE MATERIALIZED VIEW mv_daily_warranty AS
SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date AS day, e.kind, e.status,
       SUM(e.opened_count)::bigint AS opened_count, SUM(e.opened_cost)::bigint AS opened_cost,
       SUM(e.closed_count)::bigint AS closed_count
FROM metric_events_warranty e JOIN accounts_organization org ON org.id = e.organization_id
GROUP BY 1, 2, 3, 4
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_warranty_uniq ON mv_daily_warranty (organization_id, day, kind, status);

CREATE MATERIALIZED VIEW mv_daily_customers AS
SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date AS day,
       SUM(e.opened_count)::bigint AS opened_count, SUM(e.closed_count)::bigint AS closed_count
FROM metric_events_customers e JOIN accounts_organization org ON org.id = e.organization_id
GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_customers_uniq ON mv_daily_customers (organization_id, day);

CREATE MATERIALIZED VIEW mv_daily_activities AS
SELECT e.organization_id, (e.ts AT TIME ZONE org.timezone)::date AS day, e.kind,
       SUM(e.activity_count)::bigint AS activity_count
FROM metric_events_activities e JOIN accounts_organization org ON org.id = e.organization_id
GROUP BY 1, 2, 3
WITH NO DATA;
CREATE UNIQUE INDEX mv_daily_activities_uniq ON mv_daily_activities (organization_id, day, kind);

DELETE FROM dashboard_viewrefresh;
DELETE FROM dashboard_dirtyday;
