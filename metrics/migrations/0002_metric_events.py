"""The metric layer's event views, one per source, and the materialized views over them."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "migrations_sql"


def sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0001_initial"),
        ("dashboard", "0003_closed_event_indexes"),
        ("operations", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql("0003_metric_events.sql"),
            # Back to 0001's self-contained views.
            reverse_sql=sql("0003_metric_events.reverse.sql") + sql("0001_materialized_views.sql"),
        )
    ]
