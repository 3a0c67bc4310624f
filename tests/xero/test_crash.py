"""A sync killed mid-run (SIGKILL, a separate process running `manage.py sync_xero`) and the
next run resuming where it stopped, through the real SDK and the fake Xero over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection as db

from tests.xero.test_sync import invoices
from xero.models import SyncStatus, XeroInvoice, XeroSyncCursor, XeroSyncRun
from xero.sync import SyncBusy, sync_organization

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _env(fake) -> dict:
    conf = db.settings_dict
    url = f"postgres://{conf['USER']}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "renoz.settings",
        "DATABASE_URL": url,
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "XERO_CLIENT_ID": fake.client_id,
        "XERO_CLIENT_SECRET": fake.client_secret,
        "XERO_API_URL": fake.api_url,
        "XERO_IDENTITY_URL": fake.url,
        "XERO_PAGE_SIZE": "100",
        "LOG_LEVEL": "WARNING",
    }


def test_a_killed_sync_resumes_from_the_page_it_was_on(org, connection, fake):
    fake.put("Invoices", *invoices(450))
    release = fake.hold("/Invoices", 3)
    child = subprocess.Popen(
        [sys.executable, "manage.py", "sync_xero", "--org", str(org.pk)],
        cwd=ROOT, env=_env(fake), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert fake.held.wait(60), "the sync never asked for page 3"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    # Pages 1 and 2 were committed with the cursor; page 3 was in flight.
    assert XeroInvoice.objects.filter(organization=org).count() == 200
    cursor = XeroSyncCursor.objects.get(organization=org, endpoint="invoices")
    assert cursor.next_page == 3
    assert XeroSyncRun.objects.get(organization=org).status == SyncStatus.RUNNING  # killed

    before = len(fake.api_calls())
    for _ in range(50):  # the killed process's session (and its advisory lock) is going away
        try:
            run = sync_organization(org.pk)
            break
        except SyncBusy:
            time.sleep(0.1)
    assert run.status == SyncStatus.SUCCEEDED
    resumed = [c.page for c in fake.api_calls()[before:] if c.path == "/Invoices"]
    assert resumed == [3, 4, 5]
    assert XeroInvoice.objects.filter(organization=org).count() == 450
