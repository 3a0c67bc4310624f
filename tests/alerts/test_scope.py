"""The scope rule in alerts: a technician's rule on a job metric reads their own jobs, as their
card and the JSON API do; an admin's rule reads the organisation's."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import evaluate
from alerts.models import AlertState
from operations.models import InstallationJob
from tests.alerts.conftest import NOW, SYDNEY, make_rule, order
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _completed(org, tech, n: int) -> None:
    sale = order(org, dt.date(2026, 7, 20), 1_000)
    for _ in range(n):
        InstallationJob.objects.create(
            organization=org,
            order=sale,
            customer=sale.customer,
            technician=tech,
            status="completed",
            scheduled_for=dt.datetime(2026, 8, 4, 8, tzinfo=SYDNEY),
            created_at=dt.datetime(2026, 8, 1, 8, tzinfo=SYDNEY),
            started_at=dt.datetime(2026, 8, 4, 9, tzinfo=SYDNEY),
            completed_at=dt.datetime(2026, 8, 4, 11, tzinfo=SYDNEY),
            kwh="10.00",
            labor_hours="2.00",
        )


def test_a_technicians_rule_reads_their_own_jobs(org, owner):
    tech = make_user(org, "technician", email="tech@renoz.test")
    other = make_user(org, "technician", email="tech2@renoz.test")
    _completed(org, tech, 2)
    _completed(org, other, 3)
    mine = make_rule(org, tech, metric="jobs_completed", threshold=3, recipients=[tech.email])
    org_wide = make_rule(org, owner, metric="jobs_completed", threshold=3)
    evaluate.evaluate(NOW)
    states = {s.rule_id: s for s in AlertState.objects.filter(rule__kind="metric")}
    assert (states[mine.pk].value, states[mine.pk].state) == (2, "firing")  # own: 2 < 3
    assert (states[org_wide.pk].value, states[org_wide.pk].state) == (5, "ok")  # all: 5
