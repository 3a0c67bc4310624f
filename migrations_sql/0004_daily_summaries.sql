-- The daily summaries become tables maintained incrementally (metrics/refresh.py).
--
-- A materialized view can only be recomputed whole, so its refresh cost grew with the history of
-- every organisation. These tables keep the same names, columns and unique keys, and are
-- maintained per (organisation, local day) from the dirty-day markers every write leaves: delete
-- the day's rows, insert them again from the event views, in one short transaction. A full
-- rebuild stays as the repair command (`manage.py refresh_dashboard_views --full`).
--
-- Tricky: dimension values may be NULL, so the unique keys treat NULLs as equal. The keys cover
-- the measures and autovacuum visits often, so a read is an index-only scan of one
-- organisation's days however its rows are spread over the heap by incremental upserts.

DROP MATERIALIZED VIEW mv_daily_metrics;
DROP MATERIALIZED VIEW mv_daily_pipeline;
DROP MATERIALIZED VIEW mv_daily_jobs;
DROP MATERIALIZED VIEW mv_daily_warranty;
DROP MATERIALIZED VIEW mv_daily_customers;
DROP MATERIALIZED VIEW mv_daily_activities;

CREATE TABLE mv_daily_metrics (
  organization_id bigint NOT NULL, day date NOT NULL,
  revenue_cents bigint NOT NULL, orders bigint NOT NULL, kwh_sold numeric(14, 2) NOT NULL
);
CREATE UNIQUE INDEX mv_daily_metrics_uniq ON mv_daily_metrics (organization_id, day)
  INCLUDE (revenue_cents, orders, kwh_sold);
ALTER TABLE mv_daily_metrics SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE mv_daily_pipeline (
  organization_id bigint NOT NULL, day date NOT NULL, stage text,
  opened_count bigint NOT NULL, opened_value bigint NOT NULL, opened_weighted bigint NOT NULL,
  closed_count bigint NOT NULL, closed_value bigint NOT NULL, closed_weighted bigint NOT NULL
);
CREATE UNIQUE INDEX mv_daily_pipeline_uniq ON mv_daily_pipeline (organization_id, day, stage)
  INCLUDE (opened_count, opened_value, opened_weighted, closed_count, closed_value, closed_weighted) NULLS NOT DISTINCT;
ALTER TABLE mv_daily_pipeline SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE mv_daily_jobs (
  organization_id bigint NOT NULL, day date NOT NULL, status text,
  opened_count bigint NOT NULL, closed_count bigint NOT NULL, completed_count bigint NOT NULL,
  completed_kwh numeric(14, 2) NOT NULL, labor_hours numeric(14, 2) NOT NULL
);
CREATE UNIQUE INDEX mv_daily_jobs_uniq ON mv_daily_jobs (organization_id, day, status)
  INCLUDE (opened_count, closed_count, completed_count, completed_kwh, labor_hours) NULLS NOT DISTINCT;
ALTER TABLE mv_daily_jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE mv_daily_warranty (
  organization_id bigint NOT NULL, day date NOT NULL, kind text, status text,
  opened_count bigint NOT NULL, opened_cost bigint NOT NULL, closed_count bigint NOT NULL
);
CREATE UNIQUE INDEX mv_daily_warranty_uniq ON mv_daily_warranty (organization_id, day, kind, status)
  INCLUDE (opened_count, opened_cost, closed_count) NULLS NOT DISTINCT;
ALTER TABLE mv_daily_warranty SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE mv_daily_customers (
  organization_id bigint NOT NULL, day date NOT NULL,
  opened_count bigint NOT NULL, closed_count bigint NOT NULL
);
CREATE UNIQUE INDEX mv_daily_customers_uniq ON mv_daily_customers (organization_id, day)
  INCLUDE (opened_count, closed_count);
ALTER TABLE mv_daily_customers SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE TABLE mv_daily_activities (
  organization_id bigint NOT NULL, day date NOT NULL, kind text,
  activity_count bigint NOT NULL
);
CREATE UNIQUE INDEX mv_daily_activities_uniq ON mv_daily_activities (organization_id, day, kind)
  INCLUDE (activity_count) NULLS NOT DISTINCT;
ALTER TABLE mv_daily_activities SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- Empty until the first rebuild: forget the watermarks so every read is live until then.
DELETE FROM dashboard_viewrefresh;
DELETE FROM dashboard_dirtyday;
