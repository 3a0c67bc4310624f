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
       o.total_cents::bigint AS revenue_cents, 1::bigint AS orders,
       (SELECT COALESCE(SUM(i.kwh), 0) FROM operations_orderitem i WHERE i.order_id = o.id)::numeric
         AS kwh_sold
FROM operations_order o
WHERE o.status IN ('confirmed', 'fulfilled');

-- Sales by product category: the same orders (read from the view above, so which orders
-- count is written once), one row per order and category of its items, with the lines
-- (quantity x unit price, ex GST) and kWh of that category. The part of the order total on no
-- item (an order without items, or a total that differs from its lines) is a row of its own
-- with category NULL, so an order's rows add up to its total to the cent. `orders` is 1 on
-- every row: filtered by a category it counts the orders having an item in it.
CREATE OR REPLACE VIEW metric_events_sales_items AS
SELECT e.organization_id, e.record_id, e.ts, e.owner_id, e.customer_id, e.customer_state,
       e.customer_kind, e.status, part.product_category, part.revenue_cents,
       1::bigint AS orders, part.kwh_sold
FROM metric_events_sales e
CROSS JOIN LATERAL (
  SELECT lines.product_category, lines.revenue_cents, lines.kwh_sold
  FROM (
    SELECT pr.category AS product_category,
           SUM(i.quantity * i.unit_price_cents)::bigint AS revenue_cents,
           SUM(i.kwh)::numeric AS kwh_sold
    FROM operations_orderitem i JOIN operations_product pr ON pr.id = i.product_id
    WHERE i.order_id = e.record_id
    GROUP BY pr.category
  ) lines
  UNION ALL
  SELECT NULL, rest.revenue_cents, 0::numeric
  FROM (
    SELECT e.revenue_cents - COALESCE(SUM(i.quantity * i.unit_price_cents), 0)::bigint
             AS revenue_cents,
           COUNT(i.id) AS items
    FROM operations_orderitem i
    WHERE i.order_id = e.record_id
  ) rest
  WHERE rest.revenue_cents <> 0 OR rest.items = 0
) part;
