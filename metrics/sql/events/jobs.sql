-- Jobs: open from created_at until completed or cancelled; completions carry kWh and hours.
-- Tricky: the closed events' timestamp expression is the one indexed by
-- migrations_sql/0002_closed_event_indexes.sql; keep it identical so live reads stay index scans.
CREATE OR REPLACE VIEW metric_rows_jobs AS
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

CREATE OR REPLACE VIEW metric_events_jobs AS
SELECT r.*, c.state AS customer_state, c.kind AS customer_kind
FROM metric_rows_jobs r LEFT JOIN operations_customer c ON c.id = r.customer_id;
