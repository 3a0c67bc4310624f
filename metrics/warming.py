"""Nightly precompute: warm the cache for organisations active in the last 7 days, over the
default layouts' metrics and the common presets, at 2 AM in each organisation's timezone."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from django.utils import timezone

from accounts.models import Organization, User
from metrics import cache as metric_cache
from metrics.definitions import METRICS, SOURCES
from metrics.engine import TimeWindow, read
from metrics.periods import add_months, local_midnight, parse_state
from metrics.queries import default_interval, get_metrics, get_timeseries

log = logging.getLogger("renoz.metrics.warming")
WARM_HOUR = 2
COMMON_PRESETS = (
    "this_month",
    "last_month",
    "last_30_days",
    "this_quarter",
    "this_financial_year",
    "today",
)
COMMON_COMPARES = ("previous_period", "previous_year")
TIMESERIES_METRICS = (
    "revenue",
    "kwh_deployed",
    "jobs_completed",
    "warranty_claims",
    "pipeline_value",
)


def active_organizations(since_days: int = 7):
    cutoff = timezone.now() - dt.timedelta(days=since_days)
    active = User.objects.filter(last_login__gte=cutoff).values("organization_id")
    return Organization.objects.filter(pk__in=active)


def common_states(organization, presets=COMMON_PRESETS, compares=COMMON_COMPARES):
    return [
        parse_state({"range": preset, "compare": compare}, organization)
        for preset in presets
        for compare in compares
    ]


MONTHS_WARMED = 36  # closed months whose daily blocks the warm-up keeps (custom ranges' edges)


def warm_months(organization, months: int = MONTHS_WARMED) -> None:
    """Cache each source's daily block of every closed month of the last `months`, for the
    whole organisation: a custom range's part-month edges are cut out of them (metrics/engine.py,
    _cut_from_months) instead of read from the database. One read per source (its absent
    months in one statement); a month no write touched since is found, not read again."""
    tz = organization.tz
    this_month = timezone.now().astimezone(tz).date().replace(day=1)
    firsts = [add_months(this_month, -k) for k in range(months, 0, -1)]
    windows = [
        TimeWindow(local_midnight(first, tz), local_midnight(add_months(first, 1), tz))
        for first in firsts
    ]
    with metric_cache.history_cache():
        for source in SOURCES.values():
            read(organization.pk, tz, source, windows, daily=True)


def warm_organization(
    organization, presets=COMMON_PRESETS, compares=COMMON_COMPARES, widgets=None
) -> int:
    """Compute and cache the metrics and series the default layouts ask for, over the common
    presets; `widgets(organization, states)` (from the screen layer) warms the widget values
    themselves. Returns the number of entries."""
    keys = list(METRICS)
    count = 0
    warm_months(organization)
    states = common_states(organization, presets, compares)
    for state in states:
        get_metrics(organization, state, keys)
        count += 1
        for metric in TIMESERIES_METRICS:
            get_timeseries(organization, state, metric, default_interval(state))
            count += 1
    if widgets is not None:
        count += widgets(organization, states)
    return count


def warm_due_organizations(*, force: bool = False, widgets=None) -> int:
    """Warm each active organisation whose local hour is WARM_HOUR (or all, when forced)."""
    warmed = 0
    for organization in active_organizations():
        local_hour = timezone.now().astimezone(zoneinfo.ZoneInfo(organization.timezone)).hour
        if force or local_hour == WARM_HOUR:
            entries = warm_organization(organization, widgets=widgets)
            log.info("warmed %s (%d entries)", organization.name, entries)
            warmed += 1
    return warmed
