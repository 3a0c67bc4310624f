-- Customers: active from created_at until archived.
-- Tricky: GREATEST(c.created_at, c.archived_at) is the expression indexed by
-- migrations_sql/0002_closed_event_indexes.sql; keep it identical so live reads stay index scans.
CREATE OR REPLACE VIEW metric_rows_customers AS
SELECT c.organization_id, c.id AS record_id, c.created_at AS ts, NULL::bigint AS owner_id,
       c.id AS customer_id, 1::bigint AS opened_count, 0::bigint AS closed_count
FROM operations_customer c
UNION ALL
SELECT c.organization_id, c.id, GREATEST(c.created_at, c.archived_at), NULL, c.id, 0, 1
FROM operations_customer c
WHERE c.archived_at IS NOT NULL;

CREATE OR REPLACE VIEW metric_events_customers AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind
FROM metric_rows_customers r LEFT JOIN operations_customer c ON c.id = r.customer_id;
