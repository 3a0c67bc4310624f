"""Models that moved to the metric layer (their tables stay), and the read-only models over the
materialized views, which nothing read (the engine reads the views through the source
definitions)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_closed_event_indexes"),
        ("metrics", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name=name)
                for name in (
                    "ViewRefresh",
                    "DirtyDay",
                    "UserStatisticsDaily",
                    "CurrentState",
                    "DailyActivities",
                    "DailyCustomers",
                    "DailyJobs",
                    "DailyMetrics",
                    "DailyPipeline",
                    "DailyWarranty",
                )
            ],
        ),
    ]
