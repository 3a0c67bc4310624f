"""Fixtures for alert tests: a real SMTP server (aiosmtpd), a real HTTP receiver for webhooks,
and orders placed on known local days."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.models import AlertRule
from operations.models import Customer, Order
from tests.reports.smtp import SMTPServer

SYDNEY = zoneinfo.ZoneInfo("Australia/Sydney")
# The clock of most tests: 10:00 on Wed 5 Aug 2026 in Sydney; "yesterday" is 4 Aug.
NOW = dt.datetime(2026, 8, 5, 10, 0, tzinfo=SYDNEY)
_numbers = itertools.count(1)


@pytest.fixture
def smtp(settings):
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 5
        settings.SITE_URL = "https://dash.renoz.test"
        settings.ALERTS_RETRY_BASE_SECONDS = 30
        settings.ALERTS_MAX_ATTEMPTS = 3
        yield server


def order(org, day: dt.date, cents: int, status: str = "confirmed") -> Order:
    customer = Customer.objects.filter(organization=org).first() or Customer.objects.create(
        organization=org, name="Client", kind="commercial", state="NSW"
    )
    return Order.objects.create(
        organization=org,
        customer=customer,
        number=f"A-{next(_numbers)}",
        status=status,
        ordered_at=dt.datetime.combine(day, dt.time(12, 0), tzinfo=SYDNEY),
        total_cents=cents,
    )


def make_rule(org, owner, **fields) -> AlertRule:
    defaults = {
        "name": "Revenue dropped",
        "metric": "revenue",
        "condition": "below",
        "threshold": 100_000,  # $1,000.00
        "range_preset": "yesterday",
        "compare": "previous_period",
        "recipients": ["ceo@client.test"],
    }
    return AlertRule.objects.create(organization=org, owner=owner, **{**defaults, **fields})


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST; `answers` are the status
    codes to give, in order (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path}
                )
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/renoz?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json(self, i: int) -> dict:
        return json.loads(self.requests[i]["body"])


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
