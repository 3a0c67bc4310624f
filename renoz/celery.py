"""The Celery app, its queues and the one beat schedule.

Tasks go to one queue per kind of work (settings.TASK_KINDS). A worker takes every queue, or
the kinds named in WORKER_QUEUES (`WORKER_QUEUES=reports,insights`). Run exactly one beat process. Daily-summary refreshes come from the source definitions
(metrics.definitions: each source's table and its cadence), so a new source is scheduled by
defining it. Nightly jobs run hourly and pick the organisations whose local hour has come, so
every organisation's "midnight" is its own.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import celeryd_after_setup, task_postrun, task_prerun

from infra import replica
from metrics.definitions import refresh_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renoz.settings")

app = Celery("renoz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_after_setup.connect
def take_worker_queues(sender, instance, conf, **kwargs) -> None:
    """Narrow this worker to the kinds of work in WORKER_QUEUES (after any -Q option)."""
    from django.conf import settings

    if settings.WORKER_QUEUES:
        instance.app.amqp.queues.select([settings.TASK_QUEUES[k] for k in settings.WORKER_QUEUES])


@task_prerun.connect
def begin_task(task_id, **kwargs) -> None:
    replica.begin_task(task_id)  # each task reads history afresh, pinned only once it writes


@task_postrun.connect
def end_task(task_id, **kwargs) -> None:
    replica.end_task(task_id)


def _every(minutes: int) -> crontab:
    if minutes >= 60:
        return crontab(minute=7)  # hourly, off the quarter hours the 15-minute refreshes use
    return crontab(minute=f"*/{minutes}")


BEAT_SCHEDULE = {
    f"refresh-tables-every-{minutes}-min": {
        "task": "metrics.tasks.refresh_summaries",
        "schedule": _every(minutes),
        "args": (tables,),
    }
    for minutes, tables in sorted(refresh_schedule().items())
}
BEAT_SCHEDULE |= {
    "nightly-user-statistics": {
        "task": "metrics.tasks.nightly_user_statistics",
        "schedule": crontab(minute=5),
    },
    "nightly-warm-cache": {
        "task": "dashboard.tasks.nightly_warm_cache",
        "schedule": crontab(minute=10),
    },
    # Large exports' files are deleted EXPORT_RETENTION_HOURS after they were written.
    "exports-purge-hourly": {
        "task": "dashboard.tasks.purge_expired_exports",
        "schedule": crontab(minute=37),
    },
    # Xero: every connected organisation, hourly, on the xero queue (docs/xero.md).
    "xero-sync-hourly": {
        "task": "xero.tasks.sync_xero_organizations",
        "schedule": crontab(minute=23),
    },
    # Scheduled reports: each tick creates due runs (once per slot) and queues their delivery.
    # Work that writes queued while the broker was away (infra/outbox).
    "outbox-drain-every-minute": {
        "task": "infra.outbox.tasks.drain_outbox",
        "schedule": crontab(),
    },
    "reports-dispatch-every-minute": {
        "task": "reports.tasks.dispatch_reports",
        "schedule": crontab(),
    },
    # Alert rules: check the due ones, then send what is pending (docs/alerts.md).
    "alerts-evaluate-every-5-min": {
        "task": "alerts.tasks.evaluate_alerts",
        "schedule": crontab(minute="*/5"),
    },
    # Digests of followed metrics: each user's at their local send time (docs/digests.md).
    "alerts-digests-every-15-min": {
        "task": "alerts.tasks.send_digests",
        "schedule": crontab(minute="*/15"),
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE
