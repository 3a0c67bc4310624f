"""The Celery app and the one beat schedule.

Run exactly one beat process. Nightly jobs run hourly and pick the organisations whose
local hour has come, so every organisation's "midnight" is its own.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renoz.settings")

app = Celery("renoz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BEAT_SCHEDULE = {
    "refresh-current-state": {
        "task": "dashboard.tasks.refresh_views",
        "schedule": crontab(minute="*/5"),
        "args": (["mv_current_state"],),
    },
    "refresh-daily-views": {
        "task": "dashboard.tasks.refresh_views",
        "schedule": crontab(minute="*/15"),
        "args": (["mv_daily_metrics", "mv_daily_pipeline", "mv_daily_jobs"],),
    },
    "refresh-warranty": {
        "task": "dashboard.tasks.refresh_views",
        "schedule": crontab(minute=7),
        "args": (["mv_daily_warranty"],),
    },
    "nightly-user-statistics": {
        "task": "dashboard.tasks.nightly_user_statistics",
        "schedule": crontab(minute=5),
    },
    "nightly-warm-cache": {
        "task": "dashboard.tasks.nightly_warm_cache",
        "schedule": crontab(minute=10),
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE
