"""The reconciliation API and page over the hand-worked month of tests/xero/books.py: figures
equal the sums worked out there, live and from the daily summaries; admins only; notes are
audited; another organisation sees none of it."""

from __future__ import annotations

import io

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command

from metrics.models import SummaryRefresh
from tests.conftest import make_user
from tests.xero import books
from xero.crypto import decrypt_token
from xero.models import ReconciliationNote, XeroConnection, XeroException
from xero.sync import sync_organization

pytestmark = pytest.mark.django_db

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def ledger(org, connection, fake):
    orders = books.seed_orders(org)
    books.seed_xero(fake)
    sync_organization(org.pk)
    return orders


@pytest.fixture(params=["live", "summaries"])
def path(request, ledger):
    if request.param == "summaries":
        call_command("refresh_daily_summaries", stdout=io.StringIO())
        assert SummaryRefresh.objects.filter(summary="daily_ledger").exists()
    return request.param


def test_api_figures_equal_the_hand_worked_sums(client, owner, path):
    client.force_login(owner)
    body = client.get("/api/dashboard/reconciliation", MARCH).json()
    assert body["orders_revenue"] == books.ORDERS_REVENUE == 12_000_00
    assert body["invoiced_revenue"] == books.INVOICED == 10_660_00
    assert body["gap"] == books.GAP == 1_340_00
    assert body["cash_collected"] == books.COLLECTED
    assert body["unbilled_revenue"] == books.UNBILLED
    assert body["matched"] == books.MATCHED_ORDERS
    assert body["exceptions"] == {
        "not_invoiced": 1,
        "no_order": 1,
        "amount_mismatch": 1,
        "tax_mismatch": 1,
    }
    assert body["range"] == {"from": "2026-03-01", "to": "2026-03-31", "to_date": False}


def test_the_ledger_metrics_read_the_same_through_the_metrics_api(client, owner, path):
    client.force_login(owner)
    keys = "revenue,invoiced_revenue,revenue_gap,cash_collected,unbilled_revenue"
    body = client.get("/api/dashboard/metrics", {**MARCH, "metrics": keys}).json()
    values = {k: v["value"] for k, v in body["metrics"].items()}
    assert values == {
        "revenue": 12_000_00,
        "invoiced_revenue": 10_660_00,
        "revenue_gap": 1_340_00,
        "cash_collected": 1_100_00,
        "unbilled_revenue": 800_00,
    }


def test_a_range_without_the_month_has_nothing(client, owner, ledger):
    client.force_login(owner)
    body = client.get("/api/dashboard/reconciliation", {"from": "2026-05-01", "to": "2026-05-31"})
    assert body.json()["gap"] == 0 and body.json()["matched"] == 0


def test_only_admins_read_it(client, org, ledger):
    assert client.get("/api/dashboard/reconciliation", MARCH).status_code == 401
    for role in ("sales", "operations", "technician", "viewer"):
        client.force_login(make_user(org, role))
        assert client.get("/api/dashboard/reconciliation", MARCH).status_code == 403
        assert client.get("/dashboard/reconciliation/", MARCH).status_code == 403


def test_bad_ranges_are_a_400(client, owner):
    client.force_login(owner)
    for params in (
        {"range": "fortnight"},
        {"from": "2026-03-31", "to": "2026-03-01"},
        {"from": "x"},
    ):
        response = client.get("/api/dashboard/reconciliation", params)
        assert response.status_code == 400 and "error" in response.json()
        assert client.get("/dashboard/reconciliation/", params).status_code == 400


def test_another_organisation_sees_none_of_it(client, other_org, ledger):
    outsider = make_user(other_org, "admin", "boss@outsider.test")
    client.force_login(outsider)
    body = client.get("/api/dashboard/reconciliation", MARCH).json()
    assert body["invoiced_revenue"] == 0 and body["orders_revenue"] == 0
    assert set(body["exceptions"].values()) == {0}
    key = XeroException.objects.first().key
    response = client.post("/dashboard/reconciliation/notes/", {"key": key, "text": "mine now"})
    assert response.status_code == 404
    assert not ReconciliationNote.objects.exists()


def test_the_page_shows_the_gap_each_exception_and_the_last_sync(client, owner, ledger):
    client.force_login(owner)
    html = client.get("/dashboard/reconciliation/", MARCH).content.decode()
    assert "Xero synced just now" in html
    assert "$1,340.00" in html  # the gap
    for text in ("SO-000006", "INV-8", "SO-000009", "INV-10", "$55.00 / $60.00"):
        assert text in html
    assert "go.xero.com/AccountsReceivable/View.aspx?InvoiceID=" in html
    assert "/dashboard/drill/revenue/?" in html and "q=SO-000006" in html


def test_a_note_is_kept_with_its_exception_and_audited(client, owner, org, ledger):
    client.force_login(owner)
    key = XeroException.objects.get(organization=org, kind="not_invoiced").key
    response = client.post(
        "/dashboard/reconciliation/notes/",
        {"key": key, "text": "Invoice raised manually, awaiting sync"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Invoice raised manually" in response.content.decode()
    assert "<html" not in response.content.decode()  # the partial only
    note = ReconciliationNote.objects.get(organization=org)
    assert (note.exception_key, note.author) == (key, owner)
    assert LogEntry.objects.get_for_object(note).filter(actor=owner).exists()
    plain = client.post("/dashboard/reconciliation/notes/", {"key": key, "text": ""})
    assert plain.status_code == 302 and ReconciliationNote.objects.count() == 1


def test_without_settings_xero_is_not_connected(client, owner, settings):
    settings.XERO_CLIENT_ID = ""
    client.force_login(owner)
    html = client.get("/dashboard/reconciliation/").content.decode()
    assert "Xero is not connected" in html
    assert client.get("/api/dashboard/reconciliation").json()["last_synced_at"] is None


def test_an_admin_connects_and_disconnects(client, owner, org, fake):
    client.force_login(owner)
    assert client.post("/dashboard/reconciliation/connect/").status_code == 302
    conn = XeroConnection.objects.get(organization=org)
    assert conn.connected_by == owner and fake.token_requests == 1
    assert decrypt_token(conn.token_ciphertext)["token_type"] == "Bearer"
    assert LogEntry.objects.get_for_object(conn).filter(actor=owner).exists()
    assert "token_ciphertext" not in str(LogEntry.objects.get_for_object(conn).first().changes)
    assert client.post("/dashboard/reconciliation/disconnect/").status_code == 302
    assert not XeroConnection.objects.filter(organization=org).exists()


def test_a_refused_connection_says_so(client, owner, org, fake, settings):
    settings.XERO_CLIENT_SECRET = "wrong"  # noqa: S105
    client.force_login(owner)
    response = client.post("/dashboard/reconciliation/connect/", follow=True)
    assert "Xero did not connect" in response.content.decode()
    assert not XeroConnection.objects.filter(organization=org).exists()
