"""`manage.py bench_xero`: the Xero budgets of docs/xero.md at year3, against the fake Xero
over HTTP through the real SDK.

- a full sync of the year3 organisation's invoices (about 15,000, with their payments) from
  the fake: at most 60 s (the figure includes the matching that ends every sync);
- an incremental sync with nothing new: at most 3 calls;
- matching the organisation's orders and invoices: at most 5 s;
- the reconciliation page, served cold (the organisation's cached values dropped first): at
  most 150 ms (median of the samples).

The benchmark organisation's Xero rows are replaced on each run. Results merge into
bench-results/bench.json (`xero_*` keys).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Organization, Role
from bench.results import judged, merge_results
from bench.stats import summary
from metrics import cache as metric_cache
from operations.seeding import benchmark_names
from xero.demo import plan_books
from xero.fake import FakeXero, invoice
from xero.matching import match_organization
from xero.models import (
    XeroConnection,
    XeroContact,
    XeroCreditNote,
    XeroException,
    XeroInvoice,
    XeroMatch,
    XeroPayment,
    XeroSyncCursor,
    XeroSyncRun,
)
from xero.sync import cents, sync_organization, xero_date

BUDGETS = {"full_sync_s": 60, "incremental_calls": 3, "match_s": 5, "page_cold_ms": 150}


def _split(doc: dict, parts: int) -> list[dict]:
    """An invoice as `parts` staged invoices with the same reference and total."""
    if parts == 1:
        return [doc]
    ex = cents(doc["SubTotal"])
    # A GST error the plan made stays on the first part; each part's GST is otherwise 10 %.
    error = cents(doc["TotalTax"]) - (ex + 5) // 10
    out = []
    for n in range(parts):
        part_ex = ex // parts + (ex % parts if n == 0 else 0)
        part_tax = (part_ex + 5) // 10 + (error if n == 0 else 0)
        out.append(
            invoice(
                number=f"{doc['InvoiceNumber']}-{n + 1}",
                contact_json=doc["Contact"],
                date=xero_date(doc["Date"]),
                reference=f"{doc['Reference']} {n + 1}/{parts}",
                lines=[(part_ex, part_tax)],
                status=doc["Status"],
            )  # fmt: skip
        )
    return out


def _forget_books(org) -> None:
    models: tuple[Any, ...] = (
        XeroMatch, XeroException, XeroPayment, XeroCreditNote, XeroInvoice,
        XeroContact, XeroSyncRun, XeroSyncCursor, XeroConnection,
    )  # fmt: skip
    for model in models:
        model.objects.filter(organization=org).delete()


class Command(BaseCommand):
    help = "Benchmark the Xero sync, matching and the reconciliation page at year3."

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, default=15_000, help="Invoices in the fake")
        parser.add_argument("--repeat", type=int, default=15, help="Page samples")

    def handle(self, *args, invoices, repeat, **options):
        name, _ = benchmark_names("year3", 42, 1)
        if not Organization.objects.filter(name=name).exists():
            self.stdout.write(f"Seeding {name} (once; later runs reuse it)")
            call_command("seed_benchmark", volume="year3", orgs=1, seed=42)
        org = Organization.objects.get(name=name)
        today = timezone.now().astimezone(org.tz).date()
        books = plan_books(org, today)
        # Installations are invoiced in stages (deposit, progress, balance): each order's
        # invoice is split into as many parts, referencing the order, as make ~`invoices`.
        base, extra = divmod(invoices, max(1, len(books.invoices)))
        staged = [
            part
            for n, doc in enumerate(books.invoices)
            for part in _split(doc, max(1, base + (1 if n < extra else 0)))
        ]
        _forget_books(org)
        fake = FakeXero()
        fake.put("Invoices", *staged)
        fake.put("CreditNotes", *books.credit_notes)
        fake.put("Payments", *books.payments)
        with (
            fake,
            override_settings(
                XERO_CLIENT_ID=fake.client_id,
                XERO_CLIENT_SECRET=fake.client_secret,
                XERO_API_URL=fake.api_url,
                XERO_IDENTITY_URL=fake.url,
            ),
        ):
            XeroConnection.objects.create(organization=org, tenant_name="Fake Xero (bench)")
            started = time.perf_counter()
            full = sync_organization(org.pk, full=True)
            full_s = time.perf_counter() - started
            before = len(fake.api_calls())
            incremental = sync_organization(org.pk)
            incremental_calls = len(fake.api_calls()) - before
        # From scratch (no stored matches or exceptions), then again over unchanged books (what
        # each hourly sync does: only differences are written).
        XeroMatch.objects.filter(organization=org).delete()
        XeroException.objects.filter(organization=org).delete()
        started = time.perf_counter()
        matched = match_organization(org.pk)
        match_s = time.perf_counter() - started
        started = time.perf_counter()
        match_organization(org.pk)
        rematch_s = time.perf_counter() - started
        page = self._page(org, repeat)
        result = {
            "xero_full_sync": judged(
                {
                    "invoices": full.counts.get("invoices"),
                    "payments": full.counts.get("payments"),
                    "calls": full.calls,
                    "full_sync_s": round(full_s, 2),
                },
                at_most={"full_sync_s": BUDGETS["full_sync_s"]},
            ),
            "xero_incremental_sync": judged(
                {"incremental_calls": incremental_calls, "run_calls": incremental.calls},
                at_most={"incremental_calls": BUDGETS["incremental_calls"]},
            ),
            "xero_matching": judged(
                {
                    "orders": matched["orders"],
                    "matches": matched["matches"],
                    "exceptions": {str(k): v for k, v in matched["exceptions"].items()},
                    "match_s": round(match_s, 2),
                    "rematch_unchanged_s": round(rematch_s, 2),
                },
                at_most={"match_s": BUDGETS["match_s"]},
            ),
            "xero_reconciliation_page_cold": judged(
                {**page, "page_cold_ms": page["median_ms"]},
                at_most={"page_cold_ms": BUDGETS["page_cold_ms"]},
            ),
        }
        path = merge_results(result)
        for key, row in result.items():
            self.stdout.write(f"{key}: {row}")
        self.stdout.write(f"Wrote {path}")

    def _page(self, org, repeat: int) -> dict:
        admin = org.users.filter(role=Role.ADMIN).order_by("pk").first()
        client = Client(HTTP_HOST="127.0.0.1")  # an allowed host outside the tests
        client.force_login(admin)
        url = "/dashboard/reconciliation/?range=this_financial_year"
        client.get(url)  # the process's first request (imports, templates) is not counted
        samples = []
        for _ in range(repeat):
            metric_cache.bump_data_version(org.pk)
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        return {**summary(samples), "mean_ms": round(statistics.fmean(samples), 2)}
