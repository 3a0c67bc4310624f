"""Redis that stalls (accepts, never answers) or refuses: every write answers within its 2 s
bound with a clean answer, nothing it queued is lost, and once Redis is back the real beat
tasks publish the queued work to the real Redis and a real worker runs each piece once.

Writes: a technician starts and completes jobs (one scheduled yesterday, so the per-user
statistics of a past day must be recomputed: queued through the outbox), an admin sends a
report now, saves a target and adds a widget to their layout.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from infra.outbox.models import OutboxMessage
from infra.outbox.tasks import drain_outbox
from metrics.models import DirtyDay
from operations.models import JobEvent
from reports.models import ReportRun
from reports.tasks import dispatch_reports
from targets.models import Target
from tests.conftest import make_user
from tests.dashboard.test_field import _job, _today_start
from tests.faults.conftest import (
    WRITE_BOUND,
    closed_port,
    logged_in,
    purge_queues,
    queued_tasks,
    real_broker,
    redis_at,
    start_worker,
    stop_worker,
    timed,
    wait_for,
    worker_env,
)
from tests.reports.conftest import make_report
from tests.reports.smtp import SMTPServer

pytestmark = pytest.mark.django_db(transaction=True)
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def scene(org, settings):
    settings.DASHBOARD_REFRESH_ON_WRITE = True  # writes really try to queue their refresh
    tech = make_user(org, "technician", "tech@renoz.test")
    admin = make_user(org, "admin", "admin@renoz.test")
    start = _today_start(org)
    today = _job(org, tech, start + dt.timedelta(hours=9), name="Today Co")
    yesterday = _job(org, tech, start - dt.timedelta(hours=15), name="Late Co")
    report = make_report(org, admin, schedule_anchor=timezone.now())
    return {"tech": tech, "admin": admin, "today": today, "yesterday": yesterday, "report": report}


def _writes(scene) -> dict[str, tuple[int, float]]:
    """Every write path once; {name: (status, seconds)}, each within WRITE_BOUND."""
    tech, admin = logged_in(scene["tech"]), logged_in(scene["admin"])
    done: dict[str, tuple[int, float]] = {}

    def post(name, client, url, data, **extra):
        response, seconds = timed(lambda: client.post(url, data, **extra), WRITE_BOUND)
        done[name] = (response.status_code, seconds)

    for job in (scene["today"], scene["yesterday"]):
        post(
            f"start {job.customer.name}",
            tech,
            f"/dashboard/jobs/{job.pk}/start/",
            {"idempotency_key": f"00000000-0000-4000-8000-{job.pk:012d}"},
            **JSON,
        )
        post(
            f"complete {job.customer.name}",
            tech,
            f"/dashboard/jobs/{job.pk}/complete/",
            {
                "kwh": "18.5",
                "labor_hours": "5.5",
                "confirm": "1",
                "idempotency_key": f"00000000-0000-4000-9000-{job.pk:012d}",
            },
            **JSON,
        )
    post("report send", admin, reverse("reports-send-now", args=[scene["report"].pk]), {})
    post(
        "target save",
        admin,
        reverse("targets-create"),
        {
            "metric": "revenue",
            "period_kind": "month",
            "period_start": "2026-12-01",
            "amount": "150,000",
            "user": "",
        },
    )
    post("layout save", admin, reverse("dashboard-layout-add"), {"widget": "kpi:labor_hours"})
    return done


def _assert_clean_and_saved(done, scene) -> None:
    for name, (status, _seconds) in done.items():
        assert status in (200, 302), f"{name}: {status}"
    for job in (scene["today"], scene["yesterday"]):
        job.refresh_from_db()
        assert job.status == "completed"
        assert JobEvent.objects.filter(job=job).count() == 2  # started, completed: once each
    assert ReportRun.objects.filter(report=scene["report"], status="pending").count() == 1
    assert Target.objects.filter(organization=scene["report"].organization).count() == 1
    # The refreshes the writes could not queue wait as dirty-day markers for the beat.
    assert DirtyDay.objects.filter(summary="daily_jobs").exists()


def _back_and_run_once(scene, monkeypatch) -> None:
    """Redis returns: the real beat tasks publish what waited, and a real worker runs it once."""
    waiting = OutboxMessage.objects.count()
    assert waiting >= 1  # the past day's statistics recompute, at least
    assert {m.task for m in OutboxMessage.objects.all()} == {
        "metrics.tasks.recompute_user_statistics"
    }
    monkeypatch.setattr("infra.outbox.queue.DRAIN_AFTER", dt.timedelta(0))
    purge_queues()
    with real_broker(monkeypatch), SMTPServer() as smtp:
        drain_outbox.apply()
        dispatch_reports.apply()
        assert OutboxMessage.objects.count() == 0
        assert queued_tasks() == sorted(
            ["reports.tasks.deliver_report_run"]
            + ["metrics.tasks.recompute_user_statistics"] * waiting
        )
        drain_outbox.apply()  # a second drain finds nothing to publish again
        assert len(queued_tasks()) == waiting + 1
        worker = start_worker(
            worker_env(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_PORT=str(smtp.port),
            )
        )
        try:
            assert wait_for(lambda: not queued_tasks(), 90), "the worker took nothing"
            assert wait_for(
                lambda: ReportRun.objects.filter(report=scene["report"], status="sent").exists(),
                90,
            )
        finally:
            log = stop_worker(worker)
        assert "Traceback" not in log, log
        assert len(smtp.messages) == len(scene["report"].recipients)  # once per recipient


def test_a_redis_that_never_answers_holds_no_write_and_loses_nothing(scene, stall, monkeypatch):
    with redis_at(f"redis://127.0.0.1:{stall.port}/0", monkeypatch):
        done = _writes(scene)
    _assert_clean_and_saved(done, scene)
    _back_and_run_once(scene, monkeypatch)


def test_a_redis_that_refuses_holds_no_write_and_loses_nothing(scene, monkeypatch):
    with redis_at(f"redis://127.0.0.1:{closed_port()}/0", monkeypatch):
        done = _writes(scene)
    _assert_clean_and_saved(done, scene)
    _back_and_run_once(scene, monkeypatch)
