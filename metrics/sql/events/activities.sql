-- Activities: calls, emails, meetings, site visits and notes, by when they happened.
CREATE OR REPLACE VIEW metric_events_activities AS
SELECT a.organization_id, a.id AS record_id, a.occurred_at AS ts, a.user_id AS owner_id,
       a.customer_id,
       (SELECT c.state FROM operations_customer c WHERE c.id = a.customer_id) AS customer_state,
       (SELECT c.kind FROM operations_customer c WHERE c.id = a.customer_id) AS customer_kind,
       a.kind, 1::bigint AS activity_count
FROM operations_activity a;
