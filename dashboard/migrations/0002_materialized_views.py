from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "migrations_sql"


def sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("operations", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql("0001_materialized_views.sql"),
            reverse_sql=sql("0001_materialized_views.reverse.sql"),
        )
    ]
