"""`GET/POST /api/alerts` and `GET /api/alerts/<id>/events`: API units, clear 400s, and every
rule scoped to its organisation and, for non-admins, to its owner."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from alerts import evaluate
from alerts.models import AlertRule
from tests.alerts.conftest import NOW, make_rule, order

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post("/api/alerts", json.dumps(body), content_type="application/json")


GOOD = {
    "name": "Win rate slipping",
    "metric": "quote_win_rate",
    "condition": "below",
    "threshold": 0.3,
    "resolve_threshold": 0.35,
    "range": "last_30_days",
    "filters": {"state": "QLD"},
    "pending_checks": 2,
    "recipients": ["admin@renoz-energy.test"],
}


def test_post_creates_a_rule_in_api_units(client, owner):
    client.force_login(owner)
    response = post(client, GOOD)
    assert response.status_code == 201, response.json()
    body = response.json()
    rule = AlertRule.objects.get(pk=body["id"])
    assert (rule.threshold, rule.resolve_threshold) == (0.3, 0.35)
    assert rule.filters == {"state": "QLD"} and rule.range_preset == "last_30_days"
    assert rule.organization_id == owner.organization_id and rule.owner == owner
    assert body["state"] == "ok" and body["recipients"] == ["admin@renoz-energy.test"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"metric": "profit"}, "metric"),
        ({"condition": "sideways"}, "condition"),
        ({"threshold": "lots"}, "threshold"),
        ({"threshold": 30}, "ratios from 0 to 1"),
        ({"threshold": None}, "threshold"),
        ({"range": "last_century"}, "range_preset"),
        ({"filters": {"planet": "Mars"}}, "Unknown filter 'planet'"),
        ({"filters": {"state": "XX"}}, "XX is not one of"),
        ({"filters": {"category": "battery"}}, "cannot be filtered by product category"),
        ({"resolve_threshold": 0.2}, "resolve"),
        ({"recipients": ["not-an-address"]}, "Not a valid e-mail"),
        ({"webhook_url": "http://169.254.169.254/"}, "link-local"),
        ({"pending_checks": 0}, "pending_checks"),
    ],
)
def test_bad_input_is_a_clear_400(client, owner, settings, change, words):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []
    client.force_login(owner)
    body = {**GOOD, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = post(client, body)
    assert response.status_code == 400
    assert words in response.json()["error"] + json.dumps(response.json().get("fields", {}))
    assert not AlertRule.objects.exists()


def test_a_body_that_is_not_json_is_a_400(client, owner):
    client.force_login(owner)
    assert client.post("/api/alerts", "{", content_type="application/json").status_code == 400
    assert client.post("/api/alerts", "[]", content_type="application/json").status_code == 400


def test_anonymous_callers_get_a_json_401(client):
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/api/alerts/1/events").status_code == 401


def test_non_admins_keep_their_own_alerts_to_their_own_address(client, owner, colleague):
    client.force_login(colleague)
    assert post(client, {**GOOD, "recipients": ["ceo@client.test"]}).status_code == 400
    response = post(client, {**GOOD, "recipients": [colleague.email]})
    assert response.status_code == 201
    make_rule(owner.organization, owner, name="The admin's")
    names = [r["name"] for r in client.get("/api/alerts").json()["alerts"]]
    assert names == ["Win rate slipping"]  # not the admin's, nor the system rules
    client.force_login(owner)
    names = {r["name"] for r in client.get("/api/alerts").json()["alerts"]}
    assert {"Win rate slipping", "The admin's"} <= names


def test_events_list_the_history_and_other_orgs_get_404(client, org, owner, outsider):
    order(org, dt.date(2026, 8, 4), 50_000)
    rule = make_rule(org, owner)
    evaluate.evaluate(NOW)
    client.force_login(owner)
    body = client.get(f"/api/alerts/{rule.pk}/events").json()
    assert body["events"] == [
        {
            "seq": 1,
            "series": "",
            "from": "ok",
            "to": "firing",
            "notice": "fired",
            "value": 50000.0,
            "value_text": "",
            "threshold": "below $1,000.00 AUD",
            "suppressed": None,
            "at": NOW.isoformat(),
        }
    ]
    client.force_login(outsider)
    assert client.get(f"/api/alerts/{rule.pk}/events").status_code == 404
