-- Reverse of 0007_sales_by_category.sql: daily_sales without kWh, no daily_sales_items.
DROP TABLE daily_sales_items;
DROP INDEX daily_sales_uniq;
ALTER TABLE daily_sales DROP COLUMN kwh_sold;
CREATE UNIQUE INDEX daily_sales_uniq ON daily_sales (organization_id, day)
  INCLUDE (revenue_cents, orders);

DELETE FROM dashboard_viewrefresh WHERE summary IN ('daily_sales', 'daily_sales_items');
DELETE FROM dashboard_dirtyday WHERE summary IN ('daily_sales', 'daily_sales_items');
