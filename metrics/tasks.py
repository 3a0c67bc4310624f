"""Thin Celery entry points for the metric layer's jobs."""

from __future__ import annotations

import datetime as dt
import logging
import time

from celery import shared_task
from django.core.cache import cache
from django.dispatch import Signal

from accounts.models import Organization
from infra.health import BEAT_HEARTBEAT_KEY
from infra.outbox.queue import enqueue, publish
from metrics.cache import namespace
from metrics.refresh import refresh_summaries as do_refresh
from metrics.statistics import compute_due_user_statistics, recompute_days

log = logging.getLogger("renoz.metrics.tasks")
DEBOUNCE_SECONDS = 30
# Sent after a refresh with the organisations it brought up to date (`organization_ids`), so
# layers above the metric layer (insights) can store what they derive ahead of the readers
# without the metric layer knowing them.
summaries_refreshed = Signal()


@shared_task(
    ignore_result=True,
    soft_time_limit=120,
    time_limit=180,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
)
def refresh_summaries(tables: list[str] | None = None) -> None:
    try:
        cache.client.get_client(write=True).set(BEAT_HEARTBEAT_KEY, time.time())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a heartbeat must never fail the refresh
        log.warning("could not record the beat heartbeat")
    results = do_refresh(tables, incremental=True)
    done = [r["summary"] for r in results if not r.get("skipped")]
    refreshed = sorted({o for r in results for o in r.get("organization_ids", ())})
    if refreshed:
        summaries_refreshed.send(sender=refresh_summaries, organization_ids=refreshed)
    skipped = [r["summary"] for r in results if r.get("skipped")]
    log.info(
        "refreshed %d table(s) %s%s",
        len(done),
        ", ".join(done),
        f"; skipped {', '.join(skipped)}" if skipped else "",
    )


def schedule_refresh(tables: list[str]) -> None:
    """Queue one refresh per table within the debounce window, however many writes arrive."""
    due = []
    for table in tables:
        try:
            first = cache.add(f"{namespace()}:refresh-pending:{table}", 1, timeout=DEBOUNCE_SECONDS)
        except Exception:  # noqa: BLE001
            first = True
        if first:
            due.append(table)
    # Tricky: a bounded publish with no outbox row. The dirty-day markers the write committed
    # are this work's outbox: the refresh beat redoes their days if this publish is lost.
    if due:
        publish(refresh_summaries.name, [due], countdown=DEBOUNCE_SECONDS)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=900)
def nightly_user_statistics() -> None:
    rows = compute_due_user_statistics()
    log.info("computed %d user-statistics rows", rows)


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=180)
def recompute_user_statistics(org_id: int, days: list[str]) -> None:
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        return
    rows = recompute_days(organization, [dt.date.fromisoformat(d) for d in days])
    if rows:
        log.info("recomputed %d user-statistics rows of %s after a write", rows, days)


def schedule_statistics_recompute(org_id: int, days) -> None:
    """After a write to past days, bring their per-user statistics up to date: queued through
    the outbox in the writer's transaction, so a broker that is away loses nothing."""
    enqueue(recompute_user_statistics.name, org_id, sorted(d.isoformat() for d in days))
