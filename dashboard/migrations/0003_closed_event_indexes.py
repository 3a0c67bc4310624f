from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "migrations_sql"


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_materialized_views")]

    operations = [
        migrations.RunSQL(
            (SQL_DIR / "0002_closed_event_indexes.sql").read_text(),
            reverse_sql=(SQL_DIR / "0002_closed_event_indexes.reverse.sql").read_text(),
        )
    ]
