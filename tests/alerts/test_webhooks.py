"""Webhooks: a signed JSON POST to a real HTTP receiver, retried with backoff up to a bound,
and refused for private, loopback and link-local addresses (server-side request forgery)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import socket

import pytest

from alerts import delivery, evaluate
from alerts.models import Notification
from alerts.webhooks import WebhookRefused, check_url
from tests.alerts.conftest import NOW, make_rule, order

pytestmark = pytest.mark.django_db
YESTERDAY = dt.date(2026, 8, 4)


def test_a_webhook_gets_signed_json_with_an_idempotency_key(smtp, org, owner, receiver):
    order(org, YESTERDAY, 50_000)
    rule = make_rule(org, owner, recipients=[], webhook_url=receiver.url)
    evaluate.evaluate(NOW)
    assert delivery.deliver(NOW).sent == 1
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks/renoz?x=1"
    assert headers["Content-Type"] == "application/json"
    # The signature, worked out here from the secret, the timestamp and the raw body.
    expected = hmac.new(
        rule.webhook_secret.encode(),
        headers["X-Renoz-Timestamp"].encode() + b"." + body,
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-Renoz-Signature"] == f"sha256={expected}"
    payload = receiver.json(0)
    assert payload["id"] == headers["Idempotency-Key"]
    assert payload["notice"] == "fired"
    assert payload["rule"]["threshold"] == 100_000
    assert payload["event"]["value"] == 50_000
    assert payload["event"]["from"] == "ok" and payload["event"]["to"] == "firing"
    assert payload["links"]["drill"].startswith("https://dash.renoz.test/dashboard/drill/revenue/")
    assert smtp.messages == []


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(smtp, org, owner, receiver):
    order(org, YESTERDAY, 50_000)
    make_rule(org, owner, recipients=[], webhook_url=receiver.url)
    receiver.answers = [503, 500, 502]
    evaluate.evaluate(NOW)
    assert delivery.deliver(NOW).retry == 1
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert delivery.deliver(NOW + dt.timedelta(seconds=29)).retry == 0  # not due yet
    assert delivery.deliver(NOW + dt.timedelta(seconds=30)).retry == 1
    row.refresh_from_db()
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=30 + 60)
    assert delivery.deliver(NOW + dt.timedelta(seconds=90)).failed == 1  # the third attempt
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 3)
    assert "502" in row.error
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(keys) == 1


def test_a_4xx_answer_is_not_retried(smtp, org, owner, receiver):
    order(org, YESTERDAY, 50_000)
    make_rule(org, owner, recipients=[], webhook_url=receiver.url)
    receiver.answers = [404]
    evaluate.evaluate(NOW)
    assert delivery.deliver(NOW).failed == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(settings, url):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(WebhookRefused):
        check_url(url)


def test_bad_schemes_and_credentials_are_refused(settings):
    for url in ("ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/"):
        with pytest.raises(WebhookRefused):
            check_url(url)


def test_a_public_address_passes_and_the_request_goes_to_the_checked_address(settings, monkeypatch):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []

    def resolve(host, port, *args, **kwargs):  # DNS for a public host, without the network
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert check_url("https://hooks.example.com/x") == (
        "https",
        "hooks.example.com",
        443,
        "93.184.216.34",
    )


def test_a_host_resolving_to_a_private_address_is_refused_at_delivery(
    smtp, settings, org, owner, monkeypatch
):
    order(org, YESTERDAY, 50_000)
    make_rule(org, owner, recipients=[], webhook_url="http://hooks.example.com/x")
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):  # DNS now answers an internal address
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    evaluate.evaluate(NOW)
    assert delivery.deliver(NOW).failed == 1  # refused at once, never retried
    row = Notification.objects.get()
    assert row.status == "failed" and "10.0.0.5" in row.error
