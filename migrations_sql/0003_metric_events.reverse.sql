-- Back to the self-contained views of 0001 (recreated unpopulated).
DROP MATERIALIZED VIEW IF EXISTS mv_daily_activities;
DROP MATERIALIZED VIEW IF EXISTS mv_daily_customers;
DROP MATERIALIZED VIEW IF EXISTS mv_daily_warranty;
DROP MATERIALIZED VIEW IF EXISTS mv_daily_jobs;
DROP MATERIALIZED VIEW IF EXISTS mv_daily_pipeline;
DROP MATERIALIZED VIEW IF EXISTS mv_daily_metrics;
DROP VIEW IF EXISTS metric_events_activities;
DROP VIEW IF EXISTS metric_events_customers;
DROP VIEW IF EXISTS metric_events_warranty;
DROP VIEW IF EXISTS metric_events_jobs;
DROP VIEW IF EXISTS metric_events_pipeline;
DROP VIEW IF EXISTS metric_events_sales;
DROP VIEW IF EXISTS metric_rows_customers;
DROP VIEW IF EXISTS metric_rows_warranty;
DROP VIEW IF EXISTS metric_rows_jobs;
DROP VIEW IF EXISTS metric_rows_pipeline;
DELETE FROM dashboard_viewrefresh;
DELETE FROM dashboard_dirtyday;
