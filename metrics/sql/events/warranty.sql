-- Warranty: claims open from opened_at until resolved (resolved or rejected sets resolved_at).
-- Tricky: GREATEST(w.opened_at, w.resolved_at) is the expression indexed by
-- migrations_sql/0002_closed_event_indexes.sql; keep it identical so live reads stay index scans.
CREATE OR REPLACE VIEW metric_rows_warranty AS
SELECT w.organization_id, w.id AS record_id, w.opened_at AS ts, NULL::bigint AS owner_id,
       w.customer_id, w.product_id, w.kind, w.status,
       1::bigint AS opened_count, 0::bigint AS closed_count
FROM operations_warrantyclaim w
UNION ALL
SELECT w.organization_id, w.id, GREATEST(w.opened_at, w.resolved_at), NULL, w.customer_id,
       w.product_id, w.kind, w.status, 0, 1
FROM operations_warrantyclaim w
WHERE w.resolved_at IS NOT NULL;

CREATE OR REPLACE VIEW metric_events_warranty AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind, pr.category AS product_category
FROM metric_rows_warranty r
LEFT JOIN operations_customer c ON c.id = r.customer_id
LEFT JOIN operations_product pr ON pr.id = r.product_id;
