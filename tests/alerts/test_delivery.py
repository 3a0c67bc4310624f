"""The outbox: a row left `sending` by a dead sender is taken over once its timeout has passed,
counted as uncertain and resent with the same Message-ID; a sender never finishes a row another
has taken over; SMTP failures retry with backoff."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts import delivery, evaluate
from alerts.models import Notification
from tests.alerts.conftest import NOW, make_rule, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(smtp, org, owner):
    order(org, dt.date(2026, 8, 4), 50_000)
    make_rule(org, owner)
    evaluate.evaluate(NOW)
    return Notification.objects.get()


def test_a_row_left_sending_is_taken_over_after_the_timeout(smtp, settings, queued):
    settings.ALERTS_SENDING_TIMEOUT = 120
    [claimed] = delivery.claim(NOW)  # this sender dies here, before sending or marking
    assert delivery.deliver(NOW + dt.timedelta(seconds=119)).sent == 0  # still its claim
    assert delivery.deliver(NOW + dt.timedelta(seconds=121)).sent == 1
    row = Notification.objects.get()
    assert (row.status, row.attempts, row.uncertain_resends) == ("sent", 2, 1)
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["Message-ID"].startswith(f"<alert-{row.event_id}.")
    # The dead sender's claim is gone: it cannot mark the row again.
    assert delivery._ours(claimed).update(status="pending") == 0


def test_a_second_sender_finds_nothing_to_claim(queued):
    assert len(delivery.claim(NOW)) == 1
    assert delivery.claim(NOW) == []


def test_an_smtp_failure_retries_then_sends_once(smtp, queued):
    smtp.recorder.fail_next = 1
    assert delivery.deliver(NOW).retry == 1
    assert delivery.deliver(NOW + dt.timedelta(seconds=30)).sent == 1
    assert len(smtp.messages) == 1
    assert Notification.objects.get().attempts == 2
