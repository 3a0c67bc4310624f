"""The ledger source (docs/xero.md, "The ledger in the metric layer"): its event view
`metric_events_ledger` (metrics/sql/events/ledger.sql) and its daily summary `daily_ledger`.

The summary starts empty with no watermark, so reads are live until the next refresh of
daily_ledger (beat, or `manage.py refresh_daily_summaries`) fills it.
"""

from django.db import migrations

from metrics.sql import EVENT_FILES_0006, apply_event_views, drop_event_views_sql, event_views

SUMMARY = """
CREATE TABLE daily_ledger (
  organization_id bigint NOT NULL, day date NOT NULL,
  invoiced_cents bigint NOT NULL, invoices bigint NOT NULL,
  collected_cents bigint NOT NULL, payments bigint NOT NULL,
  orders_cents bigint NOT NULL, unbilled_cents bigint NOT NULL, unbilled_orders bigint NOT NULL
);
CREATE UNIQUE INDEX daily_ledger_uniq ON daily_ledger (organization_id, day)
  INCLUDE (invoiced_cents, invoices, collected_cents, payments, orders_cents, unbilled_cents,
           unbilled_orders);
ALTER TABLE daily_ledger SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
"""

REVERSE = """
DROP TABLE daily_ledger;
DELETE FROM dashboard_viewrefresh WHERE summary = 'daily_ledger';
DELETE FROM dashboard_dirtyday WHERE summary = 'daily_ledger';
"""


class Migration(migrations.Migration):
    dependencies = [("metrics", "0006_event_sql"), ("xero", "0001_initial")]

    operations = [
        migrations.RunSQL(
            apply_event_views() + SUMMARY,
            reverse_sql=REVERSE
            + drop_event_views_sql(event_views())
            + apply_event_views(sources=EVENT_FILES_0006),
        )
    ]
