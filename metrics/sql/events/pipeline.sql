-- Pipeline: every opportunity opens at created_at and closes (won or lost) at closed_at.
-- Tricky: GREATEST(p.created_at, p.closed_at) is the expression indexed by
-- migrations_sql/0002_closed_event_indexes.sql; keep it identical so live reads stay index scans.
CREATE OR REPLACE VIEW metric_rows_pipeline AS
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

CREATE OR REPLACE VIEW metric_events_pipeline AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind
FROM metric_rows_pipeline r LEFT JOIN operations_customer c ON c.id = r.customer_id;
