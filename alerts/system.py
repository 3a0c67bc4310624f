"""System alerts: admins are told, once per incident, when a background job keeps failing or
data is older than its refresh cadence allows, and again when it recovers (docs/alerts.md,
"System alerts").

Each organisation has two system rules (created on the first check): `job_failing`, one series
per job, read from JobHealth (recorded from Celery's task signals, and by report delivery,
which retries inside its task); and `data_stale`, one series per daily summary, read from the
metric layer's SummaryRefresh, plus the beat heartbeat that `/readyz` reads. They go through the
same states, events and outbox as metric rules, so an incident notifies once and its recovery
once.
"""

from __future__ import annotations

import datetime as dt
import time

from celery.signals import task_failure, task_success
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from alerts.conditions import Reading
from alerts.models import AlertRule, JobHealth, Kind
from infra.health import BEAT_HEARTBEAT_KEY, BEAT_STALE_AFTER_S
from metrics.definitions import SOURCES
from metrics.models import SummaryRefresh

FAILURES_ALLOWED = 2  # a job fires on its third failure in a row
STALE_FACTOR = 2  # a summary may miss one refresh before its data counts as stale
# The jobs watched, by task name prefix, and the kind of work each is.
JOB_KINDS = {
    "metrics.tasks.refresh_summaries": "refresh",
    "metrics.tasks.nightly_user_statistics": "statistics",
    "metrics.tasks.recompute_user_statistics": "statistics",
    "reports.": "reports",
    "xero.": "sync",
}
# Tasks that catch their own failures and record the outcome themselves (report delivery
# retries inside its task, so Celery sees a success either way).
SELF_RECORDED = {"reports.tasks.deliver_report_run"}
REPORT_DELIVERY = "reports.delivery"
SYSTEM_RULES = {
    "job_failing": ("A background job keeps failing", float(FAILURES_ALLOWED)),
    "data_stale": ("Data is older than its refresh cadence allows", 0.0),
}


def job_kind(name: str) -> str | None:
    for prefix, kind in JOB_KINDS.items():
        if name.startswith(prefix):
            return kind
    return None


def record_job(name: str, *, ok: bool, error: str = "", now: dt.datetime | None = None) -> None:
    """Note one run of a watched job: a success clears its failures, a failure adds one."""
    kind = job_kind(name)
    if kind is None:
        return
    now = now or timezone.now()
    with transaction.atomic():
        row, _ = JobHealth.objects.select_for_update().get_or_create(
            name=name, defaults={"kind": kind}
        )
        if ok:
            row.consecutive_failures = 0
            row.last_success_at = now
        else:
            row.consecutive_failures += 1
            row.last_failure_at = now
            row.last_error = error[:2000]
        row.save()


def _watched(sender) -> bool:
    return sender is not None and sender.name not in SELF_RECORDED and bool(job_kind(sender.name))


def _on_success(sender=None, **kwargs) -> None:
    if _watched(sender):
        record_job(sender.name, ok=True)


def _on_failure(sender=None, exception=None, **kwargs) -> None:
    if _watched(sender):
        record_job(sender.name, ok=False, error=f"{type(exception).__name__}: {exception}")


def connect_signals() -> None:
    task_success.connect(_on_success, weak=False, dispatch_uid="alerts-job-success")
    task_failure.connect(_on_failure, weak=False, dispatch_uid="alerts-job-failure")


def _jobs() -> dict[str, Reading]:
    out = {}
    for row in JobHealth.objects.all():
        text = f"{row.consecutive_failures} failures in a row"
        if row.consecutive_failures and row.last_error:
            text += f"; last: {row.last_error}"
        out[row.name] = Reading(value=float(row.consecutive_failures), text=text[:200])
    return out


def _freshness(now: dt.datetime) -> dict[str, Reading]:
    """Minutes each daily summary is past its allowance (negative: fresh), and the beat."""
    out = {}
    refreshed = dict(SummaryRefresh.objects.values_list("summary", "refreshed_at"))
    for source in SOURCES.values():
        at = refreshed.get(source.summary)
        if at is None:
            continue  # never built: nothing to be stale yet
        age = (now - at).total_seconds() / 60
        allowed = source.refresh_minutes * STALE_FACTOR
        text = f"refreshed {age:.0f} min ago; allowed {allowed} min"
        out[source.summary] = Reading(value=round(age - allowed, 1), text=text)
    try:
        # The heartbeat is a raw Redis key (metrics.tasks writes it, /readyz reads it).
        raw = cache.client.get_client(write=False).get(BEAT_HEARTBEAT_KEY)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - without Redis the beat's freshness is unknown
        raw = None
    if raw is not None:
        age = time.time() - float(raw)
        text = f"beat last ticked {age / 60:.0f} min ago"
        out["beat"] = Reading(value=round((age - BEAT_STALE_AFTER_S) / 60, 1), text=text)
    return out


def read_system(rule, now: dt.datetime) -> dict[str, Reading]:
    """{series: reading} for a system rule at `now`."""
    if rule.condition == "job_failing":
        return _jobs()
    if rule.condition == "data_stale":
        return _freshness(now)
    return {}


def ensure_rules() -> int:
    """Give every organisation with an active admin its system rules; how many were new."""
    admins: dict[int, int] = {}
    users = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk")
    for org_id, user_id in users.values_list("organization_id", "pk"):
        admins.setdefault(org_id, user_id)
    have = set(
        AlertRule.objects.filter(kind=Kind.SYSTEM).values_list("organization_id", "condition")
    )
    new = [
        AlertRule(
            organization_id=org_id,
            owner_id=user_id,
            kind=Kind.SYSTEM,
            name=name,
            condition=condition,
            threshold=threshold,
            range_preset="today",
        )
        for org_id, user_id in admins.items()
        for condition, (name, threshold) in SYSTEM_RULES.items()
        if (org_id, condition) not in have
    ]
    AlertRule.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
