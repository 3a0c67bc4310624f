"""The daily summaries are named for what they are (daily_<source> tables, not mv_daily_*
views), and so are their bookkeeping columns (docs/architecture.md)."""

from pathlib import Path

from django.db import migrations, models

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "migrations_sql"


def sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


class Migration(migrations.Migration):
    dependencies = [("metrics", "0004_daily_summaries")]

    operations = [
        migrations.RenameModel("ViewRefresh", "SummaryRefresh"),
        migrations.RenameField("summaryrefresh", "view_name", "summary"),
        migrations.RemoveIndex("dirtyday", "dirtyday_org_view_day"),
        migrations.RenameField("dirtyday", "view_name", "summary"),
        migrations.AddIndex(
            "dirtyday",
            models.Index(fields=["organization", "summary", "day"], name="dirtyday_org_summary_day"),
        ),
        migrations.RunSQL(
            sql("0005_summary_names.sql"), reverse_sql=sql("0005_summary_names.reverse.sql")
        ),
    ]
