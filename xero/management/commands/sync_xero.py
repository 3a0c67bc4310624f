"""`manage.py sync_xero [--org ID] [--full]`: sync from Xero now, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from xero.client import XeroError, configured
from xero.models import XeroConnection
from xero.sync import SyncBusy, sync_organization


class Command(BaseCommand):
    help = "Sync sales invoices, credit notes and payments from Xero, then match them with orders."

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", type=int, help="one organisation's id (default: every connected one)"
        )
        parser.add_argument(
            "--full", action="store_true", help="fetch everything, not only what changed"
        )

    def handle(self, *args, org=None, full=False, **options):
        if not configured():
            raise CommandError("Xero is not connected: set XERO_CLIENT_ID and XERO_CLIENT_SECRET")
        connections = XeroConnection.objects.all()
        if org is not None:
            connections = connections.filter(organization_id=org)
            if not connections.exists():
                raise CommandError(f"Organisation {org} has no Xero connection")
        failed = 0
        for conn in connections:
            bar = tqdm(desc=f"org {conn.organization_id}", unit=" rows", disable=None)

            def tick(endpoint, page, rows, bar=bar):
                bar.set_postfix_str(f"{endpoint} page {page}")
                bar.update(rows)

            try:
                run = sync_organization(conn.organization_id, full=full, progress=tick)
            except (XeroError, SyncBusy) as error:
                failed += 1
                self.stderr.write(f"organisation {conn.organization_id}: {error}")
                continue
            finally:
                bar.close()
            self.stdout.write(
                f"organisation {conn.organization_id}: {run.calls} calls, {run.counts}"
            )
        if failed:
            raise CommandError(f"{failed} sync(s) failed; the next run resumes where each stopped")
