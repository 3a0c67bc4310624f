"""Signals the xero app sends. `ledger_changed(organization_id, days)`: a sync or a matching
moved the ledger's rows on these local days; the metric layer marks them dirty
(metrics/signals.py), as it does for an ORM write."""

from django.dispatch import Signal

ledger_changed = Signal()
