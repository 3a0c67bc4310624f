"""Nightly per-user statistics (UserStatisticsDaily): a cache of the metric layer's owner slice.

One row per user per local day, with the owned metrics of `COLUMNS` computed by
metrics.queries.daily_values_by_owner, so a personal number means exactly what the
organisation's number means. Computed hourly for each organisation from its last computed day through its last closed day
(after STATS_HOUR locally), so a missed night is filled on the next run;
`backfill_user_statistics` fills history. The upsert on (user, date) makes every run
idempotent, and a write to an already computed day recomputes it (metrics.signals).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Organization, User
from metrics.definitions import owned_metrics
from metrics.models import UserStatisticsDaily, UserStatisticsProgress
from metrics.queries import daily_values_by_owner

log = logging.getLogger("renoz.metrics.statistics")
STATS_HOUR = 1

# Stored metrics whose UserStatisticsDaily column is named apart from their key.
_COLUMN_NAMES = {"revenue": "revenue_cents", "kwh_deployed": "kwh_installed"}
# metric key -> UserStatisticsDaily column: every range metric a person owns (the one list,
# metrics.definitions.owned_metrics); ratios and states are formed from these at read time.
COLUMNS = {key: _COLUMN_NAMES.get(key, key) for key in owned_metrics("range")}

# Tricky: the WHERE on the update leaves rows whose numbers did not change untouched, so a
# re-run writes nothing and the row count says how many rows actually moved.
_UPSERT = """
INSERT INTO dashboard_userstatisticsdaily AS t
    (organization_id, user_id, date, {columns}, computed_at)
SELECT %(org)s, u.user_id, u.day, {values}, now()
FROM unnest(%(users)s::bigint[], %(days)s::date[], {arrays}) AS u(user_id, day, {names})
ON CONFLICT (user_id, date) DO UPDATE SET {updates}, computed_at = EXCLUDED.computed_at
WHERE ({current}) IS DISTINCT FROM ({excluded})
"""
MAX_CATCH_UP_DAYS = 62  # a longer gap is left to backfill_user_statistics
MAX_STALE_DAYS = 8  # days one write may recompute (a record has a few timestamps)


def compute_user_statistics(organization, first: dt.date, last: dt.date, users=None) -> int:
    """Upsert every user's row (or the given users' rows) for each local day in [first, last];
    returns the rows inserted or changed."""
    values = daily_values_by_owner(organization, list(COLUMNS), first, last)
    user_qs = User.objects.filter(organization=organization)
    if users is not None:
        user_qs = user_qs.filter(pk__in=list(users))
    user_ids = list(user_qs.values_list("pk", flat=True))
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
        current=", ".join(f"t.{c}" for c in columns),
        excluded=", ".join(f"EXCLUDED.{c}" for c in columns),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def last_computed_day(organization) -> dt.date | None:
    """The last local day the nightly job has filled for the organisation."""
    row = UserStatisticsProgress.objects.filter(organization=organization).first()
    if row is not None:
        return row.last_day
    # Before the first tracked run: whatever a backfill left behind.
    return (
        UserStatisticsDaily.objects.filter(organization=organization)
        .aggregate(last=Max("date"))
        .get("last")
    )


def record_progress(organization, last_day: dt.date) -> None:
    """Advance the organisation's last computed day (never backwards)."""
    current = last_computed_day(organization)
    if current is None or last_day > current:
        UserStatisticsProgress.objects.update_or_create(
            organization=organization, defaults={"last_day": last_day}
        )


def due_days(organization, now: dt.datetime) -> tuple[dt.date, dt.date] | None:
    """The local days the nightly job owes the organisation: every day after the last one
    computed through the last closed day (yesterday, once it is STATS_HOUR locally)."""
    local_now = now.astimezone(zoneinfo.ZoneInfo(organization.timezone))
    last_due = local_now.date() - dt.timedelta(days=1 if local_now.hour >= STATS_HOUR else 2)
    done = last_computed_day(organization)
    first = last_due if done is None else done + dt.timedelta(days=1)
    if first > last_due:
        return None
    oldest = last_due - dt.timedelta(days=MAX_CATCH_UP_DAYS - 1)
    if first < oldest:
        log.warning(
            "user statistics for %s are %d days behind; filling the last %d. "
            "Run backfill_user_statistics for the rest.",
            organization.name,
            (last_due - first).days + 1,
            MAX_CATCH_UP_DAYS,
        )
        first = oldest
    return first, last_due


def compute_due_user_statistics(*, now: dt.datetime | None = None) -> int:
    """For each organisation, fill the days owed since its last computed day (a missed night
    is caught up on the next run); returns the rows written."""
    now = now or timezone.now()
    rows = 0
    for organization in Organization.objects.all():
        span = due_days(organization, now)
        if span is None:
            continue
        first, last = span
        with transaction.atomic():
            written = compute_user_statistics(organization, first, last)
            record_progress(organization, last)
        log.info(
            "user statistics for %s, %s to %s: %d rows", organization.name, first, last, written
        )
        rows += written
    return rows


def recompute_days(organization, days) -> int:
    """Bring already computed days up to date after a write moved them (a backdated job,
    a late activity): the nightly table stays a cache of the owner slice."""
    done = last_computed_day(organization)
    stale = sorted(d for d in set(days) if done is not None and d <= done)
    return sum(compute_user_statistics(organization, day, day) for day in stale[:MAX_STALE_DAYS])
