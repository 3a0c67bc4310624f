"""`manage.py seed_demo_xero [--org NAME]`: the demo's books from its orders, synced from a
local fake Xero through the real SDK (xero/demo.py). Run by `make demo`; needs no network."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import Role
from operations.management.demo import add_org_argument, demo_organization
from xero.demo import seed_books
from xero.models import XeroInvoice


class Command(BaseCommand):
    help = "Seed the demo organisation's Xero books (with known discrepancies) and sync them."

    def add_arguments(self, parser):
        add_org_argument(parser)

    def handle(self, *args, org, **options):
        organization = demo_organization(org)
        if XeroInvoice.objects.filter(organization=organization).exists():
            self.stdout.write("Xero demo books already seeded; nothing to do.")
            return
        admin = organization.users.filter(role=Role.ADMIN).order_by("pk").first()
        today = timezone.now().astimezone(organization.tz).date()
        books, run = seed_books(organization, today, admin)
        self.stdout.write(
            f"Xero demo books: {len(books.invoices)} invoices, {len(books.credit_notes)} credit "
            f"notes, {len(books.payments)} payments; {run.calls} API calls; "
            f"{len(books.expected)} seeded discrepancies"
        )
