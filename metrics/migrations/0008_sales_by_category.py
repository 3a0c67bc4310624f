"""Sales by product category: the sales source's events at (order, product category) grain,
its daily summary `daily_sales_items`, and the kWh of the orders' items as a sales measure
(docs/architecture.md, "Sources and metrics").

Forward applies the event SQL files (metrics/sql/events/sales.sql now defines both sales views)
and migrations_sql/0007; the reverse restores 0006's sales view.
"""

from pathlib import Path

from django.db import migrations

from metrics.sql import apply_event_views

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "migrations_sql"

# The sales view as migration 0006 created it, for the reverse.
SALES_0006 = """
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
"""


def sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0007_ledger")]

    operations = [
        migrations.RunSQL(
            apply_event_views() + sql("0007_sales_by_category.sql"),
            reverse_sql=sql("0007_sales_by_category.reverse.sql")
            + apply_event_views({"sales": SALES_0006}),
        )
    ]
