"""A rule fires once and resolves once, through a real SMTP server; checks in between, and a
second run with nothing changed, send nothing (docs/alerts.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import delivery, evaluate
from alerts.models import AlertEvent, AlertState, Notification
from tests.alerts.conftest import NOW, make_rule, order

pytestmark = pytest.mark.django_db
YESTERDAY = dt.date(2026, 8, 4)
SLOT = dt.timedelta(minutes=5)


@pytest.fixture
def write(django_capture_on_commit_callbacks, org):
    """Place an order as the app does: its commit bumps the cache versions (metrics.signals)."""

    def place(day, cents):
        with django_capture_on_commit_callbacks(execute=True):
            return order(org, day, cents)

    return place


def run(now):
    outcome = evaluate.evaluate(now)
    sent = delivery.deliver(now)
    return outcome, sent


def test_fires_once_and_resolves_once_through_real_smtp(smtp, org, owner, write):
    order(org, YESTERDAY, 50_000)  # $500 yesterday, under the $1,000 line
    order(org, YESTERDAY - dt.timedelta(days=1), 999_999)  # the day before: not in the range
    rule = make_rule(org, owner)

    outcome, sent = run(NOW)
    assert (outcome.checked, outcome.events, sent.sent) == (1, 1, 1)
    [message] = smtp.messages
    assert message["To"] == "ceo@client.test"
    assert message["Subject"] == "[Firing] Revenue dropped: Revenue $500.00 AUD"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Revenue is $500.00 AUD: the rule fires when it is below $1,000.00 AUD." in text
    assert "Range: Yesterday" in text
    assert "https://dash.renoz.test/dashboard/?range=yesterday&compare=previous_period" in text
    assert "https://dash.renoz.test/dashboard/drill/revenue/?range=yesterday" in text
    assert "/dashboard/alerts/snooze/" in text
    assert "$500.00 AUD" in html and "Snooze this alert" in html

    # The same slot again, and a later check with nothing changed: nothing more is sent.
    assert run(NOW)[0].checked == 0
    outcome, sent = run(NOW + SLOT)
    assert (outcome.checked, outcome.events, sent.sent) == (1, 0, 0)
    assert len(smtp.messages) == 1

    write(YESTERDAY, 60_000)  # $1,100 now: back over the line
    outcome, sent = run(NOW + 2 * SLOT)
    assert (outcome.events, sent.sent) == (1, 1)
    assert smtp.messages[1]["Subject"] == "[Resolved] Revenue dropped: Revenue $1,100.00 AUD"
    run(NOW + 3 * SLOT)
    assert len(smtp.messages) == 2
    history = list(AlertEvent.objects.filter(rule=rule).order_by("seq"))
    assert [(e.seq, e.from_state, e.to_state, e.notice) for e in history] == [
        (1, "ok", "firing", "fired"),
        (2, "firing", "ok", "resolved"),
    ]
    assert [e.value for e in history] == [50_000, 110_000]
    # Each message's id is the same on any resend of its notification.
    assert smtp.messages[0]["Message-ID"].startswith(f"<alert-{history[0].pk}.")


def test_pending_checks_need_breaches_in_a_row(smtp, org, owner):
    order(org, YESTERDAY, 50_000)
    make_rule(org, owner, pending_checks=2)
    run(NOW)
    assert AlertState.objects.get(rule__kind="metric").state == "pending"
    assert smtp.messages == []
    run(NOW + SLOT)
    assert AlertState.objects.get(rule__kind="metric").state == "firing"
    assert len(smtp.messages) == 1


def test_hysteresis_holds_a_firing_rule_until_the_resolve_line(smtp, org, owner, write):
    order(org, YESTERDAY, 50_000)
    make_rule(org, owner, threshold=100_000, resolve_threshold=150_000)
    run(NOW)
    write(YESTERDAY, 60_000)  # $1,100: over the threshold, under the resolve line
    run(NOW + SLOT)
    assert AlertState.objects.get(rule__kind="metric").state == "firing"
    write(YESTERDAY, 40_001)  # $1,500.01: past the resolve line
    run(NOW + 2 * SLOT)
    assert AlertState.objects.get(rule__kind="metric").state == "ok"
    assert [m["Subject"][:10] for m in smtp.messages] == ["[Firing] R", "[Resolved]"]


def test_a_change_rule_reads_change_pct_against_the_previous_period(smtp, org, owner):
    order(org, YESTERDAY, 80_000)
    order(org, YESTERDAY - dt.timedelta(days=1), 100_000)  # -20% day on day
    make_rule(org, owner, condition="change_down_pct", threshold=15)
    run(NOW)
    state = AlertState.objects.get(rule__kind="metric")
    assert (state.state, state.value) == ("firing", -20.0)
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Revenue is down 20.0%: the rule fires when it is down by more than 15.0%." in text
    assert "Range: Yesterday, vs previous period" in text


def test_a_rule_without_data_is_no_data_and_tells_nobody(smtp, org, owner):
    make_rule(org, owner, metric="quote_win_rate", condition="below", threshold=0.3)
    run(NOW)
    assert AlertState.objects.get(rule__kind="metric").state == "no_data"
    assert smtp.messages == []


def test_snooze_holds_the_notice_until_it_ends(smtp, org, owner):
    order(org, YESTERDAY, 50_000)
    rule = make_rule(org, owner, snoozed_until=NOW + dt.timedelta(hours=1), snooze_reason="audit")
    run(NOW)
    event = AlertEvent.objects.get(rule=rule)
    assert (event.to_state, event.notice) == ("firing", "")
    assert event.suppressed.startswith("snoozed until")
    assert smtp.messages == [] and not Notification.objects.exists()
    run(NOW + dt.timedelta(minutes=30))
    assert smtp.messages == []
    run(NOW + dt.timedelta(minutes=65))  # the snooze is over and it still fires: one notice
    assert len(smtp.messages) == 1
    run(NOW + dt.timedelta(minutes=70))
    assert len(smtp.messages) == 1


def test_one_metric_read_per_group_not_per_rule(smtp, org, owner):
    order(org, YESTERDAY, 50_000)
    for i in range(5):
        make_rule(org, owner, name=f"r{i}", threshold=100_000 + i)
    make_rule(org, owner, name="orders", metric="orders", threshold=5)
    make_rule(org, owner, name="week", range_preset="last_7_days")
    outcome = evaluate.evaluate(NOW)
    assert outcome.checked == 7
    assert outcome.metric_reads == 2  # (yesterday) and (last 7 days)
