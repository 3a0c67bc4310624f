"""`seed_demo_xero` (run by `make demo`): the demo's books from its orders, through a local
fake Xero and the real SDK. Every seeded discrepancy shows up as its exception, and nothing
else does."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import Organization
from xero.demo import plan_books
from xero.models import SyncStatus, XeroException, XeroMatch, XeroSyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.XERO_CLIENT_ID = ""  # the demo needs no Xero settings and no network
    call_command("seed_demo", "--no-progress", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo_xero", stdout=out)
    return Organization.objects.get(name="Renoz Energy"), out.getvalue()


def test_every_seeded_discrepancy_and_nothing_else(demo):
    org, output = demo
    assert "seeded discrepancies" in output
    run = XeroSyncRun.objects.get(organization=org)
    assert run.status == SyncStatus.SUCCEEDED
    # The plan is deterministic: planning again gives the same discrepancies.
    expected = plan_books(org, run.started_at.astimezone(org.tz).date()).expected
    found = {
        (e.kind, e.order.number if e.order else None, e.invoice.number if e.invoice else None)
        for e in XeroException.objects.filter(organization=org).select_related("order", "invoice")
    }
    # amount_mismatch rows name their order and first invoice; the plan names the same.
    assert found == expected
    kinds = sorted(kind for kind, *_ in expected)
    assert kinds == ["amount_mismatch", "no_order", "no_order", "no_order", "not_invoiced",
                     "not_invoiced", "not_invoiced", "not_invoiced", "tax_mismatch"]  # fmt: skip
    rules = set(XeroMatch.objects.filter(organization=org).values_list("rule", flat=True))
    assert rules == {"reference", "customer_amount"}


def test_seeding_again_changes_nothing(demo):
    org, _ = demo
    before = XeroException.objects.filter(organization=org).count()
    out = io.StringIO()
    call_command("seed_demo_xero", stdout=out)
    assert "already" in out.getvalue()
    assert XeroException.objects.filter(organization=org).count() == before
    assert XeroSyncRun.objects.filter(organization=org).count() == 1
