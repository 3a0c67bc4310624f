"""The alerts screens: list, history, create from the KPI card's bell, edit, snooze (on the page
and from the mailed link), and who may see what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from alerts import delivery, evaluate
from alerts.content import snooze_token
from alerts.models import AlertRule
from tests.alerts.conftest import NOW, make_rule, order

pytestmark = pytest.mark.django_db


def test_the_list_shows_state_last_value_and_last_check(client, org, owner, smtp):
    order(org, dt.date(2026, 8, 4), 50_000)
    rule = make_rule(org, owner)
    evaluate.evaluate(NOW)
    client.force_login(owner)
    body = client.get("/dashboard/alerts/").content.decode()
    row = body[body.index("Revenue dropped") :]
    assert "Firing" in row and "$500.00 AUD" in row and "5 Aug 2026, 10:00 am" in row
    assert "A background job keeps failing" in body  # admins see the system alerts
    detail = client.get(f"/dashboard/alerts/{rule.pk}/").content.decode()
    assert "History" in detail and "OK → " in detail and "Fired" in detail


def test_the_bell_on_a_kpi_card_starts_a_rule_with_the_cards_range_and_filters(client, owner):
    client.force_login(owner)
    page = client.get("/dashboard/", {"range": "last_30_days", "state": "QLD"}).content.decode()
    bells = re.findall(r'class="kpi-bell" href="([^"]+)"', page)
    assert bells, "no bell on the KPI cards"
    revenue = next(b for b in bells if "metric=revenue" in b).replace("&amp;", "&")
    assert "range=last_30_days" in revenue and "state=QLD" in revenue
    form = client.get(revenue).content.decode()
    assert 'value="Revenue alert"' in form
    assert re.search(r'<option value="last_30_days" selected', form)
    assert re.search(r'<option value="QLD" selected', form)


def test_create_from_the_form_in_dollars_and_percent(client, owner):
    client.force_login(owner)
    response = client.post(
        "/dashboard/alerts/new/",
        {
            "name": "Win rate",
            "metric": "quote_win_rate",
            "condition": "below",
            "threshold": "30",
            "resolve_threshold": "35",
            "range_preset": "last_30_days",
            "compare": "previous_period",
            "pending_checks": "2",
            "recipients": "a@client.test\nb@client.test",
            "active": "on",
        },
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get(name="Win rate")
    assert (rule.threshold, rule.resolve_threshold) == (0.3, 0.35)  # typed in %, kept 0–1
    assert rule.recipients == ["a@client.test", "b@client.test"]
    edit = client.get(f"/dashboard/alerts/{rule.pk}/edit/").content.decode()
    assert 'name="threshold" value="30"' in edit


def test_a_colleagues_rule_is_a_404_and_others_cannot_mail_strangers(client, org, owner, colleague):
    rule = make_rule(org, owner)
    client.force_login(colleague)
    assert client.get(f"/dashboard/alerts/{rule.pk}/").status_code == 404
    assert client.post(f"/dashboard/alerts/{rule.pk}/snooze/", {"for": "1h"}).status_code == 404
    assert "Revenue dropped" not in client.get("/dashboard/alerts/").content.decode()


def test_snooze_from_the_page_with_a_reason_and_end_it(client, org, owner):
    rule = make_rule(org, owner)
    client.force_login(owner)
    client.post(f"/dashboard/alerts/{rule.pk}/snooze/", {"for": "1d", "reason": "stocktake"})
    rule.refresh_from_db()
    assert rule.snooze_reason == "stocktake"
    assert dt.timedelta(hours=23) < rule.snoozed_until - timezone.now() <= dt.timedelta(days=1)
    assert client.post(f"/dashboard/alerts/{rule.pk}/snooze/", {"for": "1y"}).status_code == 400
    client.post(f"/dashboard/alerts/{rule.pk}/snooze/", {"for": "off"})
    rule.refresh_from_db()
    assert rule.snoozed_until is None


def test_the_mailed_snooze_link_asks_then_snoozes_without_login(client, org, owner, smtp):
    order(org, dt.date(2026, 8, 4), 50_000)
    rule = make_rule(org, owner)
    evaluate.evaluate(NOW)
    delivery.deliver(NOW)
    text = smtp.messages[0].get_body(("plain",)).get_content()
    link = re.search(r"Snooze this alert: (\S+)", text).group(1)
    path = link.replace("https://dash.renoz.test", "")
    assert client.get(path).status_code == 200  # a link scanner's GET snoozes nothing
    rule.refresh_from_db()
    assert rule.snoozed_until is None
    response = client.post(path, {"for": "7d"})
    assert "Snoozed until" in response.content.decode()
    rule.refresh_from_db()
    assert rule.snoozed_until > timezone.now() + dt.timedelta(days=6)
    assert "ceo@client.test" in rule.snooze_reason
    forged = snooze_token(rule.pk, "x@y.z")[:-2] + "xx"
    assert client.get(f"/dashboard/alerts/snooze/{forged}/").status_code == 400
