"""The daily summaries become tables maintained per organisation and day (metrics/refresh.py)."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "migrations_sql"


def sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_user_statistics_progress")]

    operations = [
        migrations.RunSQL(
            sql("0004_daily_summaries.sql"), reverse_sql=sql("0004_daily_summaries.reverse.sql")
        )
    ]
