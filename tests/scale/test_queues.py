"""Each kind of work has its own Celery queue, so a slow PDF never waits in front of a refresh.

A task without an explicit route fails here: decide its kind in settings.TASK_KINDS.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import redis
from celery import Celery
from django.conf import settings

from renoz.celery import app, take_worker_queues

OUR_PACKAGES = (
    "renoz.",
    "accounts.",
    "operations.",
    "infra.",
    "metrics.",
    "targets.",
    "insights.",
    "dashboard.",
    "reports.",
    "alerts.",
    "xero.",
)
KIND_OF = {
    "metrics.tasks.refresh_summaries": "refresh",
    "metrics.tasks.nightly_user_statistics": "refresh",
    "metrics.tasks.recompute_user_statistics": "refresh",
    "dashboard.tasks.nightly_warm_cache": "refresh",
    "dashboard.tasks.rewarm_after_refresh": "refresh",
    "reports.tasks.dispatch_reports": "default",
    "reports.tasks.deliver_report_run": "reports",
    "insights.tasks.store_findings": "insights",
    "insights.tasks.store_findings_for": "insights",
    "infra.outbox.tasks.drain_outbox": "default",
    "dashboard.tasks.build_export": "reports",
    "dashboard.tasks.purge_expired_exports": "default",
    "alerts.tasks.evaluate_alerts": "alerts",
    "alerts.tasks.send_digests": "alerts",
    "xero.tasks.sync_xero_organizations": "xero",
    "xero.tasks.sync_xero_organization": "xero",
}


def queue_names() -> dict[str, str]:
    base = settings.CELERY_TASK_DEFAULT_QUEUE
    return {
        "refresh": f"{base}-refresh",
        "reports": f"{base}-reports",
        "insights": f"{base}-insights",
        "alerts": f"{base}-alerts",
        "xero": f"{base}-xero",
        "default": base,
    }


def our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith(OUR_PACKAGES))


def test_every_task_of_ours_has_an_explicit_route():
    tasks = our_tasks()
    assert "reports.tasks.deliver_report_run" in tasks  # the discovery found our tasks
    unrouted = [name for name in tasks if name not in settings.CELERY_TASK_ROUTES]
    assert unrouted == [], f"route these tasks to a queue in settings.TASK_KINDS: {unrouted}"


def test_each_task_is_routed_to_the_queue_of_its_kind():
    names = queue_names()
    routed = {name: app.amqp.router.route({}, name)["queue"].name for name in our_tasks()}
    assert routed == {name: names[kind] for name, kind in KIND_OF.items()}


@pytest.fixture
def broker(monkeypatch):
    """The real broker (Redis), with the tests' eager mode off so tasks are published."""
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(*queue_names().values())
    yield client
    client.delete(*queue_names().values())


def test_a_published_task_lands_in_its_own_queue_alone(broker):
    from metrics.tasks import refresh_summaries
    from reports.tasks import deliver_report_run

    deliver_report_run.delay(1)
    deliver_report_run.delay(2)
    refresh_summaries.delay(["daily_sales"])
    depth = {kind: broker.llen(name) for kind, name in queue_names().items()}
    assert depth == {
        "refresh": 1,
        "reports": 2,
        "insights": 0,
        "alerts": 0,
        "xero": 0,
        "default": 0,
    }


def fresh_app() -> Celery:
    fresh = Celery("renoz")
    fresh.config_from_object("django.conf:settings", namespace="CELERY")
    return fresh


def test_a_worker_takes_every_queue_by_default():
    worker = SimpleNamespace(app=fresh_app())
    take_worker_queues(sender="celery@test", instance=worker, conf=worker.app.conf)
    assert set(worker.app.amqp.queues.consume_from) == set(queue_names().values())


def test_worker_queues_narrow_a_worker_to_those_kinds(settings):
    settings.WORKER_QUEUES = ["reports", "insights"]
    worker = SimpleNamespace(app=fresh_app())
    take_worker_queues(sender="celery@test", instance=worker, conf=worker.app.conf)
    names = queue_names()
    assert set(worker.app.amqp.queues.consume_from) == {names["reports"], names["insights"]}
