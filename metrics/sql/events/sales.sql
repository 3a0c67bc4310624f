-- Sales: orders that count as revenue (confirmed or fulfilled), by order date.
-- Tricky: a single select, so related columns are scalar sub-selects, which a flattened view
-- never evaluates unless a read asks for them (metrics/sql/__init__.py).
CREATE OR REPLACE VIEW metric_events_sales AS
SELECT o.organization_id, o.id AS record_id, o.ordered_at AS ts,
       (SELECT p.owner_id FROM operations_opportunity p WHERE p.id = o.opportunity_id) AS owner_id,
       o.customer_id,
       (SELECT c.state FROM operations_customer c WHERE c.id = o.customer_id) AS customer_state,
       (SELECT c.kind FROM operations_customer c WHERE c.id = o.customer_id) AS customer_kind,
       o.status,
       o.total_cents::bigint AS revenue_cents, 1::bigint AS orders
FROM operations_order o
WHERE o.status IN ('confirmed', 'fulfilled');
