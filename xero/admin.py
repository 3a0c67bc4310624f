"""Admin for the synced Xero records: read-only (Xero is their source), org-scoped for staff."""

from django.contrib import admin

from accounts.admin import OrgScopedAdmin
from xero.models import XeroException, XeroInvoice, XeroSyncRun


class ReadOnly(OrgScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(XeroInvoice)
class XeroInvoiceAdmin(ReadOnly):
    list_display = ["number", "contact_name", "reference", "status", "date", "sub_total_cents"]
    list_filter = ["status", "type"]
    search_fields = ["number", "reference", "contact_name"]
    exclude = ["raw"]


@admin.register(XeroException)
class XeroExceptionAdmin(ReadOnly):
    list_display = ["key", "kind", "since", "order_cents", "invoice_cents"]
    list_filter = ["kind"]


@admin.register(XeroSyncRun)
class XeroSyncRunAdmin(ReadOnly):
    list_display = ["organization", "status", "started_at", "finished_at", "calls", "error"]
    list_filter = ["status"]
