"""Nightly per-user statistics (UserStatisticsDaily), one row per user per local day.

Computed at 1 AM local for the day before; `backfill_user_statistics` fills history. The
upsert on (user, date) makes every run idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from django.db import connection
from django.utils import timezone

from dashboard.periods import local_midnight

log = logging.getLogger("renoz.dashboard.statistics")
STATS_HOUR = 1

_SQL = """
WITH days AS (
    SELECT u.id AS user_id, d::date AS day
    FROM accounts_user u, generate_series(%(first)s::date, %(last)s::date, interval '1 day') d
    WHERE u.organization_id = %(org)s
),
sales AS (
    SELECT p.owner_id AS user_id, (o.ordered_at AT TIME ZONE %(tz)s)::date AS day,
           SUM(o.total_cents) AS revenue_cents, COUNT(*) AS orders
    FROM operations_order o JOIN operations_opportunity p ON p.id = o.opportunity_id
    WHERE o.organization_id = %(org)s AND o.status IN ('confirmed', 'fulfilled')
      AND o.ordered_at >= %(start)s AND o.ordered_at < %(end)s
    GROUP BY 1, 2
),
quotes AS (
    SELECT owner_id AS user_id, (closed_at AT TIME ZONE %(tz)s)::date AS day,
           COUNT(*) FILTER (WHERE stage = 'won') AS won, COUNT(*) FILTER (WHERE stage = 'lost') AS lost
    FROM operations_opportunity
    WHERE organization_id = %(org)s AND closed_at >= %(start)s AND closed_at < %(end)s
    GROUP BY 1, 2
),
acts AS (
    SELECT user_id, (occurred_at AT TIME ZONE %(tz)s)::date AS day, COUNT(*) AS n
    FROM operations_activity
    WHERE organization_id = %(org)s AND occurred_at >= %(start)s AND occurred_at < %(end)s
    GROUP BY 1, 2
),
jobs AS (
    SELECT technician_id AS user_id, (completed_at AT TIME ZONE %(tz)s)::date AS day,
           COUNT(*) AS n, SUM(kwh) AS kwh, SUM(labor_hours) AS hours
    FROM operations_installationjob
    WHERE organization_id = %(org)s AND status = 'completed'
      AND completed_at >= %(start)s AND completed_at < %(end)s
    GROUP BY 1, 2
)
INSERT INTO dashboard_userstatisticsdaily
    (organization_id, user_id, date, revenue_cents, orders, quotes_won, quotes_lost, activities,
     jobs_completed, kwh_installed, labor_hours, computed_at)
SELECT %(org)s, days.user_id, days.day,
       COALESCE(sales.revenue_cents, 0), COALESCE(sales.orders, 0),
       COALESCE(quotes.won, 0), COALESCE(quotes.lost, 0), COALESCE(acts.n, 0),
       COALESCE(jobs.n, 0), COALESCE(jobs.kwh, 0), COALESCE(jobs.hours, 0), now()
FROM days
LEFT JOIN sales USING (user_id, day)
LEFT JOIN quotes USING (user_id, day)
LEFT JOIN acts USING (user_id, day)
LEFT JOIN jobs USING (user_id, day)
ON CONFLICT (user_id, date) DO UPDATE SET
    revenue_cents = EXCLUDED.revenue_cents, orders = EXCLUDED.orders,
    quotes_won = EXCLUDED.quotes_won, quotes_lost = EXCLUDED.quotes_lost,
    activities = EXCLUDED.activities, jobs_completed = EXCLUDED.jobs_completed,
    kwh_installed = EXCLUDED.kwh_installed, labor_hours = EXCLUDED.labor_hours,
    computed_at = EXCLUDED.computed_at
"""


def compute_user_statistics(organization, first: dt.date, last: dt.date) -> int:
    """Upsert every user's row for each local day in [first, last]; returns rows written."""
    tz = zoneinfo.ZoneInfo(organization.timezone)
    params = {
        "org": organization.pk,
        "tz": organization.timezone,
        "first": first,
        "last": last,
        "start": local_midnight(first, tz),
        "end": local_midnight(last + dt.timedelta(days=1), tz),
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        return cursor.rowcount


def compute_due_user_statistics(*, force: bool = False) -> int:
    """For each organisation whose local hour is STATS_HOUR, compute yesterday's rows."""
    from renoz.accounts.models import Organization

    rows = 0
    for organization in Organization.objects.all():
        local_now = timezone.now().astimezone(zoneinfo.ZoneInfo(organization.timezone))
        if force or local_now.hour == STATS_HOUR:
            yesterday = local_now.date() - dt.timedelta(days=1)
            written = compute_user_statistics(organization, yesterday, yesterday)
            log.info("user statistics for %s on %s: %d rows", organization.name, yesterday, written)
            rows += written
    return rows
