"""The event views move into the metric layer's own SQL files (metrics/sql/events/), and the
measures nothing read leave them and the daily summaries: `kwh_sold` (sales) and `opened_cost`
(warranty). docs/architecture.md, "Sources and metrics".

The reverse restores the two columns as zeros and 0003's views; the daily summaries' watermarks
are forgotten so reads are live until `manage.py refresh_daily_summaries` rebuilds them.
"""

import re
from pathlib import Path

from django.db import migrations

from metrics.sql import EVENT_FILES_0006, apply_event_views, drop_event_views_sql, event_views

OLD_SQL = (
    Path(__file__).resolve().parent.parent.parent / "migrations_sql" / "0003_metric_events.sql"
)

# Tricky: dropping a column drops every index that INCLUDEs it, so each unique key is dropped
# and created again explicitly, with the columns it covers.
FORWARD_SUMMARIES = """
DROP INDEX daily_sales_uniq;
ALTER TABLE daily_sales DROP COLUMN kwh_sold;
CREATE UNIQUE INDEX daily_sales_uniq ON daily_sales (organization_id, day)
  INCLUDE (revenue_cents, orders);

DROP INDEX daily_warranty_uniq;
ALTER TABLE daily_warranty DROP COLUMN opened_cost;
CREATE UNIQUE INDEX daily_warranty_uniq ON daily_warranty (organization_id, day, kind, status)
  INCLUDE (opened_count, closed_count) NULLS NOT DISTINCT;
"""

REVERSE_SUMMARIES = """
ALTER TABLE daily_sales ADD COLUMN kwh_sold numeric(14, 2) NOT NULL DEFAULT 0;
ALTER TABLE daily_sales ALTER COLUMN kwh_sold DROP DEFAULT;
DROP INDEX daily_sales_uniq;
CREATE UNIQUE INDEX daily_sales_uniq ON daily_sales (organization_id, day)
  INCLUDE (revenue_cents, orders, kwh_sold);

ALTER TABLE daily_warranty ADD COLUMN opened_cost bigint NOT NULL DEFAULT 0;
ALTER TABLE daily_warranty ALTER COLUMN opened_cost DROP DEFAULT;
DROP INDEX daily_warranty_uniq;
CREATE UNIQUE INDEX daily_warranty_uniq ON daily_warranty (organization_id, day, kind, status)
  INCLUDE (opened_count, opened_cost, closed_count) NULLS NOT DISTINCT;

DELETE FROM dashboard_viewrefresh;
DELETE FROM dashboard_dirtyday;
"""


def old_views() -> str:
    """0003's CREATE VIEW statements, in its order (its materialized views are long gone)."""
    return "\n".join(re.findall(r"CREATE VIEW \w+ AS.*?;", OLD_SQL.read_text(), re.S))


class Migration(migrations.Migration):
    dependencies = [("metrics", "0005_summary_names")]

    operations = [
        migrations.RunSQL(
            # The six files of its day: the ledger's (0007) reads tables that come later.
            apply_event_views(sources=EVENT_FILES_0006) + FORWARD_SUMMARIES,
            reverse_sql=drop_event_views_sql(event_views(EVENT_FILES_0006))
            + REVERSE_SUMMARIES
            + old_views(),
        )
    ]
