"""The sync, through the real xero-python SDK against the fake Xero over HTTP: paging,
If-Modified-Since, 429 with Retry-After, expired tokens, and a crash followed by a resume."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.models import JobHealth
from xero import limits
from xero.client import XeroError
from xero.crypto import decrypt_token
from xero.fake import contact, credit_note, invoice, payment
from xero.models import (
    SyncStatus,
    XeroConnection,
    XeroInvoice,
    XeroPayment,
    XeroSyncCursor,
    XeroSyncRun,
)
from xero.sync import sync_organization
from xero.tasks import sync_xero_organization

pytestmark = pytest.mark.django_db

ACME = contact("Acme Storage")


def invoices(n: int, start: int = 0) -> list[dict]:
    return [
        invoice(
            number=f"INV-{i:05d}",
            reference=f"PO {i}",
            contact_json=ACME,
            date=dt.date(2026, 3, 1) + dt.timedelta(days=i % 28),
            lines=[(100_00 + i, 10_00)],
        )
        for i in range(start, start + n)
    ]


def list_calls(fake, path):
    return [c for c in fake.api_calls() if c.path == path]


def test_full_sync_pages_through_every_invoice(org, connection, fake):
    fake.put("Invoices", *invoices(250))
    run = sync_organization(org.pk)
    assert run.status == SyncStatus.SUCCEEDED
    assert XeroInvoice.objects.filter(organization=org).count() == 250
    pages = [(c.page, c.page_size) for c in list_calls(fake, "/Invoices")]
    assert pages == [(1, 100), (2, 100), (3, 100)]  # 100 + 100 + 50: a short page ends it
    first = XeroInvoice.objects.get(organization=org, number="INV-00007")
    assert (first.sub_total_cents, first.total_tax_cents, first.total_cents) == (10007, 1000, 11007)
    assert first.raw["InvoiceNumber"] == "INV-00007" and first.counts is True
    assert first.dated_at == dt.datetime(2026, 3, 8, tzinfo=dt.timezone(dt.timedelta(hours=11)))


def test_incremental_sync_asks_only_for_what_changed(org, connection, fake):
    fake.put("Invoices", *invoices(5))
    sync_organization(org.pk)
    high = XeroSyncCursor.objects.get(organization=org, endpoint="invoices").high_water
    before = len(fake.api_calls())

    run = sync_organization(org.pk)  # nothing new
    calls = fake.api_calls()[before:]
    assert run.calls == len(calls) <= 3
    assert [c.path for c in calls if c.if_modified_since] == ["/Invoices"]  # the others were empty
    assert all(c.status == 200 for c in calls)

    changed = dict(XeroInvoice.objects.get(organization=org, number="INV-00002").raw)
    changed["Status"] = "VOIDED"
    fake.put("Invoices", changed, *invoices(1, start=100))
    before = len(fake.api_calls())
    run = sync_organization(org.pk)
    assert run.counts["invoices"] == 2  # the voided one and the new one, nothing else
    inv_call = list_calls(fake, "/Invoices")[-1]
    assert inv_call.if_modified_since.startswith(high.strftime("%Y-%m-%dT%H:%M:%S"))
    voided = XeroInvoice.objects.get(organization=org, number="INV-00002")
    assert (voided.status, voided.counts) == ("VOIDED", False)
    assert XeroInvoice.objects.filter(organization=org).count() == 6


def test_a_429_waits_for_retry_after_then_carries_on(org, connection, fake, monkeypatch):
    fake.put("Invoices", *invoices(3))
    fake.rate_limit_next(2, retry_after=1)
    waits: list[float] = []
    run = sync_organization(org.pk, sleep=waits.append)
    assert run.status == SyncStatus.SUCCEEDED
    assert waits[:2] == [1.0, 1.0]
    statuses = [c.status for c in list_calls(fake, "/Invoices")]
    assert statuses == [429, 429, 200]
    assert XeroInvoice.objects.filter(organization=org).count() == 3


def test_tokens_are_taken_before_they_expire_and_again_when_xero_expires_them(
    org, connection, fake
):
    fake.put("Invoices", *invoices(2))
    sync_organization(org.pk)
    assert fake.token_requests == 1
    conn = XeroConnection.objects.get(pk=connection.pk)
    assert "access_token" not in conn.token_ciphertext  # encrypted at rest
    assert decrypt_token(conn.token_ciphertext)["access_token"]

    fake.expire_tokens()  # Xero expired it early: a 401, one new token, the call again
    run = sync_organization(org.pk)
    assert run.status == SyncStatus.SUCCEEDED and fake.token_requests == 2
    assert [c.status for c in list_calls(fake, "/Invoices")][-2:] == [401, 200]

    # A stored token within a minute of its expiry is replaced before any call.
    XeroConnection.objects.filter(pk=connection.pk).update(
        token_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    )
    sync_organization(org.pk)
    assert fake.token_requests == 3
    assert [c.status for c in list_calls(fake, "/Invoices")][-1] == 200


def test_a_crash_mid_sync_is_recorded_and_the_next_run_resumes_there(org, connection, fake):
    fake.put("Invoices", *invoices(350))
    fake.fail_once("/Invoices", 3)
    with pytest.raises(XeroError):
        sync_organization(org.pk)
    failed = XeroSyncRun.objects.get(organization=org)
    assert failed.status == SyncStatus.FAILED and "page 3" in failed.error
    assert XeroInvoice.objects.filter(organization=org).count() == 200  # pages 1 and 2 kept
    assert XeroSyncCursor.objects.get(organization=org, endpoint="invoices").next_page == 3

    before = len(fake.api_calls())
    run = sync_organization(org.pk)
    assert run.status == SyncStatus.SUCCEEDED
    resumed = [c.page for c in fake.api_calls()[before:] if c.path == "/Invoices"]
    assert resumed == [3, 4]  # not from page 1 again
    assert XeroInvoice.objects.filter(organization=org).count() == 350
    assert XeroSyncCursor.objects.get(organization=org, endpoint="invoices").next_page == 1


def test_credit_notes_and_payments_are_synced_with_their_links(org, connection, fake):
    inv = invoice(
        number="INV-1", contact_json=ACME, date=dt.date(2026, 3, 2), lines=[(1000_00, 100_00)]
    )
    note = credit_note(
        number="CN-1",
        contact_json=ACME,
        date=dt.date(2026, 3, 9),
        lines=[(200_00, 20_00)],
        allocations=((inv, 220_00),),
    )
    paid = payment(invoice_json=inv, date=dt.date(2026, 3, 20), amount_cents=880_00)
    fake.put("Invoices", inv)
    fake.put("CreditNotes", note)
    fake.put("Payments", paid)
    run = sync_organization(org.pk)
    assert run.counts["credit_notes"] == 1 and run.counts["payments"] == 1
    pay = XeroPayment.objects.get(organization=org)
    assert (pay.amount_cents, str(pay.invoice_xero_id), pay.counts) == (
        88000,
        inv["InvoiceID"],
        True,
    )


def test_another_organisations_rows_stay_apart(org, other_org, connection, fake):
    fake.put("Invoices", *invoices(2))
    sync_organization(org.pk)
    assert XeroInvoice.objects.filter(organization=other_org).count() == 0


def test_the_token_never_reaches_the_logs(org, connection, fake, caplog):
    caplog.set_level("DEBUG")
    fake.put("Invoices", *invoices(2))
    fake.rate_limit_next(1, retry_after=0)
    sync_organization(org.pk, sleep=lambda s: None)
    fake.expire_tokens()
    sync_organization(org.pk, sleep=lambda s: None)
    token = decrypt_token(XeroConnection.objects.get(pk=connection.pk).token_ciphertext)
    assert token["access_token"] not in caplog.text
    assert "Xero 429" in caplog.text  # the log did speak


def test_past_the_minutes_budget_a_call_waits_for_the_next_minute(org, settings, time_machine):
    settings.XERO_CALLS_PER_MINUTE = 2
    time_machine.move_to(dt.datetime(2026, 12, 7, 9, 0, 10, tzinfo=dt.UTC), tick=False)
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        time_machine.shift(seconds)

    for _ in range(3):
        limits.acquire(org.pk, sleep)
    assert len(waits) == 1 and 49 < waits[0] <= 50.05  # the third call waited for 9:01
    assert limits.retry_after({"Retry-After": "7"}) == 7.0
    assert limits.retry_after({"retry-after": "9999"}) == limits.MAX_RETRY_AFTER


def test_a_failed_sync_task_counts_as_a_failing_job_for_the_system_alerts(org, connection, fake):
    # The hourly task records the failed run and fails itself, so the system alerts' job
    # health counts it (three in a row fire "A background job keeps failing").
    fake.put("Invoices", *invoices(50))
    for attempt in (1, 2):
        fake.fail_once("/Invoices", 1)
        assert sync_xero_organization.apply(args=[org.pk], throw=False).failed()
        health = JobHealth.objects.get(name="xero.tasks.sync_xero_organization")
        assert (health.kind, health.consecutive_failures) == ("sync", attempt)
    assert XeroSyncRun.objects.filter(organization=org, status=SyncStatus.FAILED).count() == 2
    assert sync_xero_organization.apply(args=[org.pk], throw=False).successful()
    health.refresh_from_db()
    assert health.consecutive_failures == 0 and health.last_success_at is not None
