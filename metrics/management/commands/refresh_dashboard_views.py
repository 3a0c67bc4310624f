"""The old name of `refresh_daily_summaries`, kept for one release so scripts keep working.

Deprecated: use `manage.py refresh_daily_summaries`; this alias goes in the next release.
"""

from metrics.management.commands.refresh_daily_summaries import Command as RefreshDailySummaries


class Command(RefreshDailySummaries):
    help = "Deprecated alias of refresh_daily_summaries (removed in the next release)."
