-- Ledger: the books (Xero, docs/xero.md) beside the orders, one source so the gap between
-- them is one metric. Which invoices, credit notes and payments count is the `counts` flag the
-- sync sets from xero/rules.py; which orders are unbilled is what matching found
-- (xero_xeroexception, kind not_invoiced); the orders' revenue is the sales source's own
-- events, so revenue's statuses stay written once (sales.sql).
-- record_id: the invoice (invoices, payments), the credit note (credit notes, never listed:
-- invoices = 0), or the order (orders, unbilled).
-- Tricky: this view reads metric_events_sales, so it is created after it and dropped before
-- it (metrics/sql/__init__.py, EVENT_FILES).
CREATE OR REPLACE VIEW metric_events_ledger AS
SELECT i.organization_id, i.id AS record_id, i.dated_at AS ts, NULL::bigint AS owner_id,
       NULL::bigint AS customer_id,
       i.sub_total_cents::bigint AS invoiced_cents, 1::bigint AS invoices,
       0::bigint AS collected_cents, 0::bigint AS payments,
       0::bigint AS orders_cents, 0::bigint AS unbilled_cents, 0::bigint AS unbilled_orders
FROM xero_xeroinvoice i
WHERE i.counts
UNION ALL
SELECT n.organization_id, n.id, n.dated_at, NULL, NULL, -n.sub_total_cents, 0, 0, 0, 0, 0, 0
FROM xero_xerocreditnote n
WHERE n.counts
UNION ALL
SELECT p.organization_id, i.id, p.dated_at, NULL, NULL, 0, 0, p.amount_cents, 1, 0, 0, 0
FROM xero_xeropayment p
LEFT JOIN xero_xeroinvoice i
  ON i.organization_id = p.organization_id AND i.xero_id = p.invoice_xero_id
WHERE p.counts
UNION ALL
SELECT s.organization_id, s.record_id, s.ts, NULL, s.customer_id, 0, 0, 0, 0, s.revenue_cents,
       0, 0
FROM metric_events_sales s
UNION ALL
SELECT x.organization_id, x.order_id, x.since, NULL, NULL, 0, 0, 0, 0, 0, x.order_cents, 1
FROM xero_xeroexception x
WHERE x.kind = 'not_invoiced';
