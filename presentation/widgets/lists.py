"""List widgets: the live activity feed (keyset-paginated), a technician's open jobs and the
team's installs this week.

See docs/architecture.md, section "Presentation vocabulary".
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Q
from django.utils import timezone

from infra.numbers import parse_id
from metrics import cache as metric_cache
from metrics.filters import FILTERS, Filters, describe, record_lookups
from metrics.formatting import short
from metrics.periods import local_midnight, unit_bounds
from metrics.scope import activities_scope, jobs_scope, owner_for
from operations.models import Activity, ActivityKind, InstallationJob, JobStatus
from presentation.widgets.base import WidgetContext, drill_url, job_url
from presentation.wording import exact_time, time_ago

FEED_PAGE_SIZE = 15
FEED_DIMS = ("customer_state", "customer_kind")  # what an activity's row moves besides its sums
MY_JOBS_LIMIT = 20
# What a feed row shows, read as values: no model instances for the page's 16 rows and their
# users and customers (issue 25; the words are get_kind_display's and the models' own).
FEED_COLUMNS = (
    "id",
    "kind",
    "subject",
    "occurred_at",
    "customer_id",
    "customer__name",
    "user_id",
    "user__full_name",
    "user__email",
)


def not_filtered_text(title: str, missing) -> str:
    """The visible note of a list some dashboard filters cannot narrow."""
    return f"{title}: not filtered by {describe(missing)}." if missing else ""


def feed_queryset(organization, user, kind: str | None = None, filters: Filters = ()):
    """Activities the user may see, newest first: technicians see their own; narrowed by the
    dashboard filters that apply to activities (customer state and kind, owner)."""
    qs = activities_scope(
        Activity.objects.for_org(organization).select_related("user", "customer"), user
    )
    lookups, _missing = record_lookups(filters, "activities")
    qs = qs.filter(**lookups)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-occurred_at", "-id")


def encode_cursor(row: dict) -> str:
    """The keyset cursor "<iso time>~<id>" of one of feed_page's rows (FEED_COLUMNS)."""
    return f"{row['occurred_at'].isoformat()}~{row['id']}"


def decode_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    """A keyset cursor "<iso time>~<id>", or None when absent or malformed."""
    if not raw or "~" not in raw:
        return None
    stamp, _, raw_pk = raw.rpartition("~")
    pk = parse_id(raw_pk)
    try:
        instant = dt.datetime.fromisoformat(stamp.replace(" ", "+"))
    except ValueError:
        return None
    if instant.tzinfo is None or pk is None:
        return None
    return instant, pk


def feed_page(
    organization,
    user,
    *,
    kind: str | None = None,
    before: str | None = None,
    after: str | None = None,
    now: dt.datetime,
    filters: Filters = (),
) -> dict:
    """One page of the feed: rows older than `before`, or all rows newer than `after`, in
    the dashboard filters (its links carry them as `filter_query`)."""
    if kind not in ActivityKind.values:
        kind = None
    qs = (
        feed_queryset(organization, user, kind, filters)
        .filter(occurred_at__lte=now)
        .values(*FEED_COLUMNS)
    )
    older = decode_cursor(before)
    newer = decode_cursor(after)
    if newer:
        at, pk = newer
        rows = list(qs.filter(Q(occurred_at__gt=at) | Q(occurred_at=at, pk__gt=pk))[:50])
        has_more = False
    else:
        if older:
            at, pk = older
            qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=pk))
        rows = list(qs[: FEED_PAGE_SIZE + 1])
        has_more = len(rows) > FEED_PAGE_SIZE
        rows = rows[:FEED_PAGE_SIZE]
    tz = organization.tz
    kinds = dict(ActivityKind.choices)
    items = []
    for row in rows:
        kind_label = str(kinds.get(row["kind"], row["kind"]))  # as get_kind_display words it
        items.append(
            {
                "kind": row["kind"],
                "kind_label": kind_label,
                "subject": row["subject"] or kind_label,
                "customer": row["customer__name"] if row["customer_id"] else "",
                "who": (row["user__full_name"] or row["user__email"]) if row["user_id"] else "",
                "iso": row["occurred_at"].isoformat(),
                "when": time_ago(row["occurred_at"], now),
                "exact": exact_time(row["occurred_at"], tz),
            }
        )
    return {
        "items": items,
        "kind": kind or "",
        "newest": encode_cursor(rows[0]) if rows and not older else (after or ""),
        "next": encode_cursor(rows[-1]) if has_more else None,
        "kinds": ActivityKind.choices,
        "filter_query": urlencode(filters),
        "not_filtered_text": not_filtered_text(
            "Latest activity", record_lookups(filters, "activities")[1]
        ),
    }


def build_feed(ctx: WidgetContext) -> dict:
    """The feed's newest page, cached until the next write to activities or customers (the
    rows it shows) for the user's scope and the filters; "when" is worded at each read."""
    now = timezone.now()
    own = owner_for(ctx.user, "activities")
    # Every part of activities: the rows show the records, not sums (a moved customer too).
    parts = ("activities", "customers", *metric_cache.dimension_parts(["activities"], FEED_DIMS))
    key = metric_cache.value_key(
        ctx.organization.pk,
        "feed",
        parts,
        f"{own}|{ctx.state.filters}",
    )
    page = metric_cache.get_or_compute(
        key,
        lambda: feed_page(ctx.organization, ctx.user, now=now, filters=ctx.state.filters),
        counted=False,
    )
    for item in page["items"]:
        item["when"] = time_ago(dt.datetime.fromisoformat(item["iso"]), now)
    if not page["newest"]:
        page["newest"] = f"{timezone.now().isoformat()}~0"
    page["own_only"] = owner_for(ctx.user, "activities") is not None
    page["empty"] = not page["items"]
    page["empty_text"] = (
        "You have no activities yet." if page["own_only"] else "No activity recorded yet."
    )
    return page


def build_my_jobs(ctx: WidgetContext) -> dict:
    tz = ctx.organization.tz
    # "My jobs" are the user's own: the owner filter cannot pick anyone else's.
    filters = tuple((p, v) for p, v in ctx.state.filters if p != "owner")
    lookups, missing = record_lookups(filters, "jobs")
    if len(filters) < len(ctx.state.filters):
        missing.append(FILTERS["owner"])
    jobs = list(
        jobs_scope(InstallationJob.objects.for_org(ctx.organization).open(), ctx.user)
        .filter(technician=ctx.user, **lookups)
        .select_related("customer")
        .order_by("scheduled_for", "id")[:MY_JOBS_LIMIT]
    )
    items = [
        {
            "url": job_url(job.pk),
            "customer": job.customer.name,
            "status": job.status,
            "status_label": job.get_status_display(),
            "when": exact_time(job.scheduled_for, tz, year=False),
            "iso": job.scheduled_for.isoformat(),
            "kwh": short(job.kwh, "kwh"),
        }
        for job in jobs
    ]
    now = timezone.now()
    return {
        "items": items,
        "ahead": sum(
            1 for job in jobs if job.status == JobStatus.SCHEDULED and job.scheduled_for >= now
        ),
        "empty": not items,
        "empty_text": "No scheduled or in-progress jobs are assigned to you"
        + (" in these filters." if lookups else "."),
        "not_filtered_text": not_filtered_text("My jobs", missing),
        "drill": drill_url("active_installations", ctx.state),
    }


def build_team_jobs(ctx: WidgetContext) -> dict:
    """The installs of this week (Monday to Sunday, local) that the user may see: for an
    operations manager the whole team's, scheduled, in progress or completed, with who does
    each; a technician sees only their own (metrics.scope)."""
    tz = ctx.organization.tz
    today = ctx.state.now.astimezone(tz).date()
    first, last = unit_bounds("week", today)
    jobs = list(
        jobs_scope(InstallationJob.objects.for_org(ctx.organization), ctx.user)
        .filter(
            scheduled_for__gte=local_midnight(first, tz),
            scheduled_for__lt=local_midnight(last + dt.timedelta(days=1), tz),
        )
        .exclude(status=JobStatus.CANCELLED)
        .select_related("customer", "technician")
        .order_by("scheduled_for", "id")[:MY_JOBS_LIMIT]
    )
    items = [
        {
            "url": job_url(job.pk),
            "customer": job.customer.name,
            "status": job.status,
            "status_label": job.get_status_display(),
            "when": exact_time(job.scheduled_for, tz, year=False),
            "iso": job.scheduled_for.isoformat(),
            "kwh": short(job.kwh, "kwh"),
            "who": (job.technician.full_name or job.technician.email) if job.technician else "",
        }
        for job in jobs
    ]
    done = sum(1 for job in jobs if job.status == JobStatus.COMPLETED)
    return {
        "items": items,
        "summary": f"{done} of {len(items)} completed" if items else "",
        "ahead": None,
        "empty": not items,
        "empty_text": "No installs are scheduled this week.",
        "drill": drill_url("active_installations", ctx.state),
    }
