"""System alerts: admins are told once when a job keeps failing or data goes stale, and once
when it recovers."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import delivery, evaluate, system
from alerts.models import AlertRule, AlertState, JobHealth
from metrics.models import SummaryRefresh
from tests.alerts.conftest import NOW
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SLOT = dt.timedelta(minutes=5)


def run(now):
    evaluate.evaluate(now)
    return delivery.deliver(now)


def test_a_job_that_keeps_failing_tells_admins_once_and_once_when_it_recovers(
    smtp, org, owner, colleague
):
    second_admin = make_user(org, "admin", email="cfo@renoz.test")
    job = "metrics.tasks.refresh_summaries"
    for _ in range(2):
        system.record_job(job, ok=False, error="OperationalError: timeout", now=NOW)
    run(NOW)
    assert smtp.messages == []  # two failures are allowed
    system.record_job(job, ok=False, error="OperationalError: timeout", now=NOW)
    run(NOW + SLOT)
    admins = sorted(m["To"] for m in smtp.messages)
    assert admins == sorted([owner.email, second_admin.email])
    assert all(
        m["Subject"].startswith("[Firing] A background job keeps failing") for m in smtp.messages
    )
    assert (
        "3 failures in a row; last: OperationalError: timeout"
        in smtp.messages[0]["Subject"] + smtp.messages[0].get_body(("plain",)).get_content()
    )
    system.record_job(job, ok=False, error="again", now=NOW)  # still failing: nothing new
    run(NOW + 2 * SLOT)
    assert len(smtp.messages) == 2
    system.record_job(job, ok=True, now=NOW)
    run(NOW + 3 * SLOT)
    assert len(smtp.messages) == 4
    assert all(m["Subject"].startswith("[Resolved]") for m in smtp.messages[2:])
    # Nobody else is told: sales, operations, technicians and viewers are not admins.
    assert not any(colleague.email in m["To"] for m in smtp.messages)


def test_jobs_that_are_not_watched_are_not_recorded(db):
    system.record_job("dashboard.tasks.nightly_warm_cache", ok=False, error="x")
    assert not JobHealth.objects.exists()


def test_stale_data_fires_per_summary_and_resolves_on_refresh(smtp, org, owner):
    SummaryRefresh.objects.update_or_create(
        summary="daily_sales", defaults={"refreshed_at": NOW - dt.timedelta(minutes=31)}
    )
    SummaryRefresh.objects.update_or_create(
        summary="daily_warranty", defaults={"refreshed_at": NOW - dt.timedelta(minutes=100)}
    )
    run(NOW)
    rule = AlertRule.objects.get(organization=org, condition="data_stale")
    states = dict(AlertState.objects.filter(rule=rule).values_list("series", "state"))
    # 15-minute cadence: 31 min is past the 30 allowed; hourly: 100 min is within 120.
    assert states["daily_sales"] == "firing" and states["daily_warranty"] == "ok"
    assert len(smtp.messages) == 1
    assert "(daily_sales)" in smtp.messages[0]["Subject"]
    SummaryRefresh.objects.filter(summary="daily_sales").update(refreshed_at=NOW)
    run(NOW + SLOT)
    assert smtp.messages[1]["Subject"].startswith("[Resolved]")
