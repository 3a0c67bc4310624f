"""Fixtures for the report tests: a live SMTP server the app really sends to, media in a
temporary folder, and a small history of orders to report on."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.models import ScheduledReport
from tests.reports.smtp import SMTPServer


@pytest.fixture
def smtp(settings, tmp_path):
    """Mail goes over a socket to an aiosmtpd server; PDFs are stored under tmp_path."""
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 5
        settings.MEDIA_ROOT = str(tmp_path / "media")
        settings.SITE_URL = "https://dash.renoz.test"
        settings.REPORTS_RETRY_BASE_SECONDS = 60
        settings.REPORTS_MAX_ATTEMPTS = 3
        settings.REPORTS_WORKING_TIMEOUT = 600
        yield server


def make_report(org, owner, **fields) -> ScheduledReport:
    defaults = {
        "name": "Weekly numbers",
        "recipients": ["ceo@client.test"],
        "cadence": "daily",
        "send_time": dt.time(8, 0),
        "range_preset": "last_7_days",
        "compare": "previous_period",
        "widgets": ["kpi:revenue", "kpi:orders"],
    }
    return ScheduledReport.objects.create(organization=org, owner=owner, **{**defaults, **fields})
