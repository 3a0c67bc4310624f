-- Sales by product category (docs/architecture.md, "Sources and metrics").
--
-- daily_sales (one row per organisation and day) gains the kWh of the orders' items, and
-- daily_sales_items sums metric_events_sales_items, one row per order and product category,
-- by organisation, day and category. Reads that do not slice by category keep reading
-- daily_sales, so their rows read do not change.
--
-- Tricky: adding a column to daily_sales drops nothing, but its covering key must include the
-- new measure for reads to stay index-only, so it is created again. Both summaries forget their
-- watermark and markers: reads are live until the next refresh rebuilds them (a summary with
-- no watermark is rebuilt whole by the first refresh, or by `manage.py refresh_daily_summaries`).

ALTER TABLE daily_sales ADD COLUMN kwh_sold numeric(14, 2) NOT NULL DEFAULT 0;
ALTER TABLE daily_sales ALTER COLUMN kwh_sold DROP DEFAULT;
DROP INDEX daily_sales_uniq;
CREATE UNIQUE INDEX daily_sales_uniq ON daily_sales (organization_id, day)
  INCLUDE (revenue_cents, orders, kwh_sold);

CREATE TABLE daily_sales_items (
  organization_id bigint NOT NULL, day date NOT NULL, product_category text,
  revenue_cents bigint NOT NULL, orders bigint NOT NULL, kwh_sold numeric(14, 2) NOT NULL
);
CREATE UNIQUE INDEX daily_sales_items_uniq ON daily_sales_items (organization_id, day, product_category)
  INCLUDE (revenue_cents, orders, kwh_sold) NULLS NOT DISTINCT;
ALTER TABLE daily_sales_items SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

DELETE FROM dashboard_viewrefresh WHERE summary IN ('daily_sales', 'daily_sales_items');
DELETE FROM dashboard_dirtyday WHERE summary IN ('daily_sales', 'daily_sales_items');
