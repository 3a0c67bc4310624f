"""Nightly per-user statistics (UserStatisticsDaily): a cache of the metric layer's owner slice.

One row per user per local day, with the owned metrics of `COLUMNS` computed by
metrics.queries.daily_values_by_owner, so a personal number means exactly what the
organisation's number means. Computed at 1 AM local for the day before;
`backfill_user_statistics` fills history. The upsert on (user, date) makes every run
idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from metrics.queries import daily_values_by_owner
from renoz.accounts.models import Organization, User

log = logging.getLogger("renoz.metrics.statistics")
STATS_HOUR = 1

# metric key -> UserStatisticsDaily column
COLUMNS = {
    "revenue": "revenue_cents",
    "orders": "orders",
    "quotes_won": "quotes_won",
    "quotes_lost": "quotes_lost",
    "activities": "activities",
    "jobs_completed": "jobs_completed",
    "kwh_deployed": "kwh_installed",
    "labor_hours": "labor_hours",
}

_UPSERT = """
INSERT INTO dashboard_userstatisticsdaily
    (organization_id, user_id, date, {columns}, computed_at)
SELECT %(org)s, u.user_id, u.day, {values}, now()
FROM unnest(%(users)s::bigint[], %(days)s::date[], {arrays}) AS u(user_id, day, {names})
ON CONFLICT (user_id, date) DO UPDATE SET {updates}, computed_at = EXCLUDED.computed_at
"""


def compute_user_statistics(organization, first: dt.date, last: dt.date) -> int:
    """Upsert every user's row for each local day in [first, last]; returns rows written."""
    values = daily_values_by_owner(organization, list(COLUMNS), first, last)
    user_ids = list(User.objects.filter(organization=organization).values_list("pk", flat=True))
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    rows = [(u, d) for u in user_ids for d in days]
    if not rows:
        return 0
    columns = list(COLUMNS.values())
    params: dict = {
        "org": organization.pk,
        "users": [u for u, _ in rows],
        "days": [d for _, d in rows],
    }
    for key, column in COLUMNS.items():
        params[column] = [Decimal(str(values.get(pair, {}).get(key) or 0)) for pair in rows]
    sql = _UPSERT.format(
        columns=", ".join(columns),
        values=", ".join(f"u.{c}" for c in columns),
        arrays=", ".join(f"%({c})s::numeric[]" for c in columns),
        names=", ".join(columns),
        updates=", ".join(f"{c} = EXCLUDED.{c}" for c in columns),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def compute_due_user_statistics(*, force: bool = False) -> int:
    """For each organisation whose local hour is STATS_HOUR, compute yesterday's rows."""
    rows = 0
    for organization in Organization.objects.all():
        local_now = timezone.now().astimezone(zoneinfo.ZoneInfo(organization.timezone))
        if force or local_now.hour == STATS_HOUR:
            yesterday = local_now.date() - dt.timedelta(days=1)
            written = compute_user_statistics(organization, yesterday, yesterday)
            log.info("user statistics for %s on %s: %d rows", organization.name, yesterday, written)
            rows += written
    return rows
