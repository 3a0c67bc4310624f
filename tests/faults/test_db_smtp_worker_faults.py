"""PostgreSQL locks held past the statement timeout, an SMTP server that stalls, and a worker
killed with SIGKILL mid-task: every request answers within its bound, nothing is lost, and the
killed task's work is done once after a restart.
"""

from __future__ import annotations

import datetime as dt
import os
import signal

import psycopg
import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.urls import reverse
from django.utils import timezone

from operations.models import JobEvent
from reports import dispatch
from reports.actions import do_send_report_now
from reports.models import ReportRun
from tests.conftest import make_user
from tests.dashboard.test_field import _job, _today_start
from tests.faults.conftest import (
    WRITE_BOUND,
    logged_in,
    purge_queues,
    queued_tasks,
    real_broker,
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
STATEMENT_TIMEOUT_MS = 1000  # the web's statement timeout in these tests
LOCK_BOUND = 4.0  # seconds: the statement timeout plus a loaded machine's slack
DELIVERY_BOUND = 15.0  # seconds: rendering the PDF plus EMAIL_TIMEOUT (1 s)


@pytest.fixture
def crew(org):
    return {
        "tech": make_user(org, "technician", "tech@renoz.test"),
        "admin": make_user(org, "admin", "admin@renoz.test"),
    }


@pytest.fixture
def job(org, crew):
    return _job(org, crew["tech"], _today_start(org) + dt.timedelta(hours=9), name="Acme")


@pytest.fixture
def web_statement_timeout():
    """Connections opened while the test runs cut statements as the web server's do."""

    def limit(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")

    connection_created.connect(limit)
    yield
    connection_created.disconnect(limit)


class HeldLock:
    """A second connection holding ACCESS EXCLUSIVE on `table` until released."""

    def __init__(self, table: str):
        db = connection.settings_dict
        self.conn = psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            dbname=db["NAME"],
            autocommit=False,
        )
        self.conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # noqa: S608

    def release(self):
        self.conn.rollback()
        self.conn.close()


def _complete(client, job, key="00000000-0000-4000-9000-000000000001"):
    return client.post(
        f"/dashboard/jobs/{job.pk}/complete/",
        {"kwh": "18.5", "labor_hours": "5.5", "confirm": "1", "idempotency_key": key},
        **JSON,
    )


def _locked_requests(job, crew) -> list[int]:
    """A write to a locked record table and a read of a locked summary table: each answers
    within LOCK_BOUND; returns their statuses."""
    tech, admin = logged_in(crew["tech"]), logged_in(crew["admin"])
    statuses = []
    lock = HeldLock("operations_installationjob")
    try:
        key = {"idempotency_key": "00000000-0000-4000-8000-000000000001"}
        start = timed(
            lambda: tech.post(f"/dashboard/jobs/{job.pk}/start/", key, **JSON), LOCK_BOUND
        )
        statuses.append(start[0].status_code)
    finally:
        lock.release()
    lock = HeldLock("daily_jobs")
    try:
        url = "/api/dashboard/metrics?metrics=jobs_completed,kwh_deployed&range=last_month"
        statuses.append(timed(lambda: admin.get(url), LOCK_BOUND)[0].status_code)
    finally:
        lock.release()
    return statuses


def test_a_lock_held_past_the_statement_timeout_is_cut_within_its_bound_and_loses_nothing(
    job, crew, web_statement_timeout
):
    tech = logged_in(crew["tech"])
    lock = HeldLock("operations_installationjob")
    try:
        response, _seconds = timed(lambda: _complete(tech, job), LOCK_BOUND)
    finally:
        lock.release()
    assert response.status_code >= 400  # refused, not half-done
    job.refresh_from_db()
    assert job.status == "scheduled" and not JobEvent.objects.filter(job=job).exists()
    # Nothing lost: the same start and completion, retried once the lock is gone, are done once.
    key = "00000000-0000-4000-8000-000000000002"
    start = tech.post(f"/dashboard/jobs/{job.pk}/start/", {"idempotency_key": key}, **JSON)
    assert start.status_code == 200
    assert _complete(tech, job).json() == {"status": "completed", "job": job.pk}
    assert JobEvent.objects.filter(job=job).count() == 2


def test_a_lock_timeout_answers_503_not_another_5xx(job, crew, web_statement_timeout):
    statuses = _locked_requests(job, crew)
    assert all(status < 500 or status == 503 for status in statuses), statuses


def test_a_stalled_smtp_server_holds_neither_the_send_nor_the_delivery(
    org, crew, settings, stall, monkeypatch
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", stall.port, 1
    report = make_report(org, crew["admin"], schedule_anchor=timezone.now())
    admin = logged_in(crew["admin"])
    purge_queues()
    with real_broker(monkeypatch):  # Send now only queues the delivery: no SMTP on the request
        response, _ = timed(
            lambda: admin.post(reverse("reports-send-now", args=[report.pk])), WRITE_BOUND
        )
    assert response.status_code == 302
    assert queued_tasks() == ["reports.tasks.deliver_report_run"]
    purge_queues()
    run = ReportRun.objects.get(report=report)
    # The dispatcher's delivery against the stalled server gives up within EMAIL_TIMEOUT ...
    outcome, _ = timed(lambda: dispatch.deliver(run.pk), DELIVERY_BOUND)
    assert outcome == "retry"
    run.refresh_from_db()
    assert run.status == "pending" and run.delivered_to == [] and "timed out" in run.error
    # ... and the run, kept, is delivered once when the mail server answers.
    with SMTPServer() as smtp:
        settings.EMAIL_PORT = smtp.port
        later = timezone.now() + dt.timedelta(hours=1)
        assert timed(lambda: dispatch.deliver(run.pk, later), DELIVERY_BOUND)[0] == "sent"
        assert timed(lambda: dispatch.deliver(run.pk, later), DELIVERY_BOUND)[0] == "skipped"
    assert [m["To"] for m in smtp.messages] == report.recipients


def test_a_worker_killed_mid_task_does_the_work_once_after_a_restart(org, crew, monkeypatch):
    report = make_report(
        org,
        crew["admin"],
        schedule_anchor=timezone.now(),
        recipients=["ceo@client.test", "cfo@client.test"],
    )
    purge_queues()
    with SMTPServer() as smtp:
        env = worker_env(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_PORT=str(smtp.port),
            BROKER_VISIBILITY_TIMEOUT="3",
            REPORTS_WORKING_TIMEOUT="3",
        )
        with real_broker(monkeypatch):
            run, _ = do_send_report_now(report)
        worker = start_worker(env)
        try:
            assert wait_for(
                lambda: ReportRun.objects.filter(pk=run.pk, status="working").exists(), 60, 0.005
            ), "the worker never claimed the run"
            os.killpg(worker.pid, signal.SIGKILL)  # mid-task: claimed, not yet finished
            worker.wait(10)
        finally:
            stop_worker(worker)
        assert ReportRun.objects.get(pk=run.pk).status == "working"
        restarted = start_worker(env)
        try:
            assert wait_for(
                lambda: ReportRun.objects.filter(pk=run.pk, status="sent").exists(), 90
            ), "the killed task's work was never done: " + stop_worker(restarted)
        finally:
            log = stop_worker(restarted)
        assert "Traceback" not in log, log
        run.refresh_from_db()
        ids = smtp.recorder.message_ids()
        assert sorted({m["To"] for m in smtp.messages}) == sorted(report.recipients)
        # Exactly once per recipient; a resend only for a handover the kill left unrecorded,
        # with the same Message-ID (the receiving server drops it).
        assert len(ids) == len(report.recipients) + run.uncertain_handovers
        assert len(set(ids)) == len(report.recipients)
