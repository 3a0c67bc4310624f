"""Preview: replaying a rule over the last 90 days shows the days it would have fired and
resolved, from the metric layer's numbers, before anything is saved."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from alerts.models import AlertEvent, AlertRule
from alerts.preview import PreviewError, preview_rule
from tests.alerts.conftest import NOW, order

pytestmark = pytest.mark.django_db
LOW = {dt.date(2026, 6, 10): 50_000, dt.date(2026, 7, 1): 30_000, dt.date(2026, 7, 2): 30_000}


@pytest.fixture
def history(org):
    day = dt.date(2026, 5, 1)
    while day <= dt.date(2026, 8, 4):
        order(org, day, LOW.get(day, 200_000))  # $2,000 a day, except three low days
        day += dt.timedelta(days=1)


def rule(org, owner, **fields):
    base = {
        "organization": org,
        "owner": owner,
        "name": "Low day",
        "metric": "revenue",
        "condition": "below",
        "threshold": 100_000,
        "range_preset": "yesterday",
        "recipients": [owner.email],
    }
    return AlertRule(**{**base, **fields})


def test_preview_finds_the_days_it_would_have_fired_and_resolved(history, org, owner):
    result = preview_rule(rule(org, owner), now=NOW)
    # Each day's check reads yesterday: the low days 10 Jun, 1 and 2 Jul show on the next day.
    assert result.fired == [dt.date(2026, 6, 11), dt.date(2026, 7, 2)]
    assert result.resolved == [dt.date(2026, 6, 12), dt.date(2026, 7, 4)]
    assert [c["value"] for c in result.changes] == [
        "$500.00 AUD",
        "$2,000.00 AUD",
        "$300.00 AUD",
        "$2,000.00 AUD",
    ]
    assert result.summary == (
        "It would have fired on 2 days: 11 Jun 2026, 2 Jul 2026; resolved 2 times."
    )
    assert not AlertRule.objects.exists() and not AlertEvent.objects.exists()


def test_preview_of_a_weekly_change_with_pending_checks(history, org, owner):
    # Last 7 days against the 7 before. The weeks ending 10–16 Jun hold the $500 day:
    # $12,500 against $14,000, down 10.7%: seven breaches, firing on the third (12 Jun);
    # 17 Jun compares $14,000 with $12,500 and resolves. The weeks ending 1–7 Jul hold one or
    # both $300 days (down 12.1%, then 24.3%): fires on 3 Jul; on 8 Jul $12,300 against
    # $12,300 resolves it.
    r = rule(
        org,
        owner,
        condition="change_down_pct",
        threshold=5,
        range_preset="last_7_days",
        pending_checks=3,
    )
    result = preview_rule(r, now=NOW)
    assert result.fired == [dt.date(2026, 6, 12), dt.date(2026, 7, 3)]
    assert result.resolved == [dt.date(2026, 6, 17), dt.date(2026, 7, 8)]
    assert [c["value"] for c in result.changes] == [
        "down 10.7%",
        "up 12.0%",
        "down 24.3%",
        "unchanged",
    ]


def test_preview_matches_the_api_for_the_same_day(history, org, owner, client):
    client.force_login(owner)
    api = client.get(
        "/api/dashboard/metrics",
        {"from": "2026-07-02", "to": "2026-07-02", "metrics": "revenue", "compare": "none"},
    )
    assert api.json()["metrics"]["revenue"]["value"] == 30_000
    result = preview_rule(rule(org, owner, threshold=30_001), now=NOW)
    assert dt.date(2026, 7, 3) not in result.resolved  # $300 on 2 Jul is under $300.01


def test_target_status_rules_are_not_replayed(org, owner):
    with pytest.raises(PreviewError):
        preview_rule(rule(org, owner, condition="target_status", target_status="behind"), now=NOW)


def test_the_preview_screen_shows_the_days_without_saving(history, org, owner, client):
    client.force_login(owner)
    form = {
        "name": "Low day",
        "metric": "revenue",
        "condition": "below",
        "threshold": "1000",
        "range_preset": "yesterday",
        "compare": "previous_period",
        "pending_checks": "1",
        "recipients": owner.email,
    }
    with time_machine.travel(NOW, tick=False):
        response = client.post("/dashboard/alerts/preview/", form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "It would have fired on 2 days: 11 Jun 2026, 2 Jul 2026; resolved 2 times." in body
    assert not AlertRule.objects.exists()
    bad = client.post("/dashboard/alerts/preview/", {**form, "threshold": "lots"})
    assert bad.status_code == 400 and "Write a number" in bad.content.decode()
