-- The metric layer's one definition of each source: a plain view of its events.
--
-- Each row is one event of one record: which organisation, which record (record_id), when (ts),
-- whose it is (owner_id), the customer and the dimensions it can be sliced by, and its additive
-- measures. "Opened"/"closed" events feed state metrics: a record is open at T when it opened
-- before T and did not close before T; closed events are dated GREATEST(opened, closed), so the
-- cumulative (opened - closed) equals that definition even for inconsistent timestamps.
--
-- Everything reads these views: the materialized views group them by local day, the live path
-- filters them by instant, drill-downs select their record_ids, and per-user statistics and
-- personal targets slice them by owner. Changing what a metric counts is an edit here, and
-- nowhere else (see metrics/definitions.py for the Python side: measures, dimensions, metrics).
--
-- Tricky: the timestamp expressions of the closed events are the ones indexed in
-- 0002_closed_event_indexes.sql; keep them identical so live reads stay index range scans.
-- Tricky: related columns must cost nothing when a read does not slice by them. A source
-- whose events are a UNION ALL keeps them in two layers: `metric_rows_<source>` (the events,
-- with customer_id) and `metric_events_<source>`, which LEFT JOINs the customer (and product)
-- by primary key; PostgreSQL removes that join when nothing reads its columns. Single-select
-- sources use scalar sub-selects, which a flattened view never evaluates unless read. (Output
-- columns of a UNION cannot be pruned, so neither trick works inside one.)

-- Sales: orders that count as revenue (confirmed or fulfilled), by order date.
CREATE VIEW metric_events_sales AS
SELECT o.organization_id, o.id AS record_id, o.ordered_at AS ts,
       (SELECT p.owner_id FROM operations_opportunity p WHERE p.id = o.opportunity_id) AS owner_id,
       o.customer_id,
       (SELECT c.state FROM operations_customer c WHERE c.id = o.customer_id) AS customer_state,
       (SELECT c.kind FROM operations_customer c WHERE c.id = o.customer_id) AS customer_kind,
       o.status,
       o.total_cents::bigint AS revenue_cents, 1::bigint AS orders,
       COALESCE((SELECT SUM(i.kwh) FROM operations_orderitem i WHERE i.order_id = o.id), 0)::numeric
         AS kwh_sold
FROM operations_order o
WHERE o.status IN ('confirmed', 'fulfilled');

-- Pipeline: every opportunity opens at created_at and closes (won or lost) at closed_at.
CREATE VIEW metric_rows_pipeline AS
SELECT p.organization_id, p.id AS record_id, p.created_at AS ts, p.owner_id, p.customer_id,
       p.stage,
       1::bigint AS opened_count, p.value_cents::bigint AS opened_value,
       (p.value_cents * p.probability)::bigint AS opened_weighted,
       0::bigint AS closed_count, 0::bigint AS closed_value, 0::bigint AS closed_weighted
FROM operations_opportunity p
UNION ALL
SELECT p.organization_id, p.id, GREATEST(p.created_at, p.closed_at), p.owner_id, p.customer_id,
       p.stage, 0, 0, 0, 1, p.value_cents, p.value_cents * p.probability
FROM operations_opportunity p
WHERE p.closed_at IS NOT NULL;

CREATE VIEW metric_events_pipeline AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind
FROM metric_rows_pipeline r LEFT JOIN operations_customer c ON c.id = r.customer_id;

-- Jobs: open from created_at until completed or cancelled; completions carry kWh and hours.
CREATE VIEW metric_rows_jobs AS
SELECT j.organization_id, j.id AS record_id, j.created_at AS ts, j.technician_id AS owner_id,
       j.customer_id, j.status,
       1::bigint AS opened_count, 0::bigint AS closed_count, 0::bigint AS completed_count,
       0::numeric AS completed_kwh, 0::numeric AS labor_hours
FROM operations_installationjob j
UNION ALL
SELECT j.organization_id, j.id, GREATEST(j.created_at, LEAST(j.completed_at, j.cancelled_at)),
       j.technician_id, j.customer_id, j.status, 0, 1, 0, 0, 0
FROM operations_installationjob j
WHERE j.completed_at IS NOT NULL OR j.cancelled_at IS NOT NULL
UNION ALL
SELECT j.organization_id, j.id, j.completed_at, j.technician_id, j.customer_id, j.status,
       0, 0, 1, j.kwh, j.labor_hours
FROM operations_installationjob j
WHERE j.status = 'completed' AND j.completed_at IS NOT NULL;

CREATE VIEW metric_events_jobs AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind
FROM metric_rows_jobs r LEFT JOIN operations_customer c ON c.id = r.customer_id;

-- Warranty: claims open from opened_at until resolved (resolved or rejected sets resolved_at).
CREATE VIEW metric_rows_warranty AS
SELECT w.organization_id, w.id AS record_id, w.opened_at AS ts, NULL::bigint AS owner_id,
       w.customer_id, w.product_id, w.kind, w.status,
       1::bigint AS opened_count, w.cost_cents::bigint AS opened_cost, 0::bigint AS closed_count
FROM operations_warrantyclaim w
UNION ALL
SELECT w.organization_id, w.id, GREATEST(w.opened_at, w.resolved_at), NULL, w.customer_id,
       w.product_id, w.kind, w.status, 0, 0, 1
FROM operations_warrantyclaim w
WHERE w.resolved_at IS NOT NULL;

CREATE VIEW metric_events_warranty AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind, pr.category AS product_category
FROM metric_rows_warranty r
LEFT JOIN operations_customer c ON c.id = r.customer_id
LEFT JOIN operations_product pr ON pr.id = r.product_id;

-- Customers: active from created_at until archived.
CREATE VIEW metric_rows_customers AS
SELECT c.organization_id, c.id AS record_id, c.created_at AS ts, NULL::bigint AS owner_id,
       c.id AS customer_id, 1::bigint AS opened_count, 0::bigint AS closed_count
FROM operations_customer c
UNION ALL
SELECT c.organization_id, c.id, GREATEST(c.created_at, c.archived_at), NULL, c.id, 0, 1
FROM operations_customer c
WHERE c.archived_at IS NOT NULL;

CREATE VIEW metric_events_customers AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind
FROM metric_rows_customers r LEFT JOIN operations_customer c ON c.id = r.customer_id;

-- Activities: calls, emails, meetings, site visits and notes, by when they happened.
CREATE VIEW metric_events_activities AS
SELECT a.organization_id, a.id AS record_id, a.occurred_at AS ts, a.user_id AS owner_id,
       a.customer_id,
       (SELECT c.state FROM operations_customer c WHERE c.id = a.customer_id) AS customer_state,
       (SELECT c.kind FROM operations_customer c WHERE c.id = a.customer_id) AS customer_kind,
       a.kind, 1::bigint AS activity_count
FROM operations_activity a;

-- The materialized views: each source's events summed by organisation, local day and the
-- dimensions the dashboard reads without a slice.
DROP MATERIALIZED VIEW IF EXISTS mv_current_state;
DROP MATERIALIZED VIEW mv_daily_metrics;
DROP MATERIALIZED VIEW mv_daily_pipeline;
DROP MATERIALIZED VIEW mv_daily_jobs;
DROP MATERIALIZED VIEW mv_daily_warranty;
DROP MATERIALIZED VIEW mv_daily_customers;
DROP MATERIALIZED VIEW mv_daily_activities;

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

-- The views start unpopulated: forget the old watermarks so every read is live until the first
-- refresh, and drop markers that belonged to the old views.
DELETE FROM dashboard_viewrefresh;
DELETE FROM dashboard_dirtyday;
