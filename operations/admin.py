"""Admin for the operational records: list filters, search, org-scoped for staff."""

from django.contrib import admin

from accounts.admin import OrgScopedAdmin
from operations.models import (
    Activity,
    Customer,
    InstallationJob,
    Opportunity,
    Order,
    OrderItem,
    Product,
    WarrantyClaim,
)


@admin.register(Customer)
class CustomerAdmin(OrgScopedAdmin):
    list_display = ["name", "kind", "state", "created_at", "archived_at"]
    list_filter = ["kind", "state"]
    search_fields = ["name"]
    date_hierarchy = "created_at"


@admin.register(Product)
class ProductAdmin(OrgScopedAdmin):
    list_display = ["sku", "name", "category", "capacity_kwh", "unit_price_cents"]
    list_filter = ["category"]
    search_fields = ["sku", "name"]


@admin.register(Opportunity)
class OpportunityAdmin(OrgScopedAdmin):
    list_display = [
        "name",
        "customer",
        "stage",
        "value_cents",
        "probability",
        "created_at",
        "closed_at",
    ]
    list_filter = ["stage"]
    search_fields = ["name", "customer__name"]
    raw_id_fields = ["customer", "owner"]
    date_hierarchy = "created_at"


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fields = ["product", "quantity", "unit_price_cents", "kwh"]
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "product" and not request.user.is_superuser:
            field.queryset = field.queryset.filter(organization_id=request.user.organization_id)
        return field


@admin.register(Order)
class OrderAdmin(OrgScopedAdmin):
    list_display = ["number", "customer", "status", "ordered_at", "total_cents"]
    list_filter = ["status"]
    search_fields = ["number", "customer__name"]
    raw_id_fields = ["customer", "opportunity"]
    date_hierarchy = "ordered_at"
    inlines = [OrderItemInline]

    def save_formset(self, request, form, formset, change):
        for item in formset.save(commit=False):
            item.organization_id = form.instance.organization_id  # items live in their order's org
            item.save()
        for item in formset.deleted_objects:
            item.delete()
        formset.save_m2m()


@admin.register(Activity)
class ActivityAdmin(OrgScopedAdmin):
    list_display = ["kind", "subject", "user", "customer", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "customer__name"]
    raw_id_fields = ["customer", "opportunity", "user"]
    date_hierarchy = "occurred_at"


@admin.register(InstallationJob)
class InstallationJobAdmin(OrgScopedAdmin):
    list_display = [
        "id",
        "customer",
        "technician",
        "status",
        "scheduled_for",
        "completed_at",
        "kwh",
    ]
    list_filter = ["status"]
    search_fields = ["customer__name", "order__number"]
    raw_id_fields = ["order", "customer", "technician"]
    date_hierarchy = "scheduled_for"


@admin.register(WarrantyClaim)
class WarrantyClaimAdmin(OrgScopedAdmin):
    list_display = [
        "id",
        "customer",
        "product",
        "kind",
        "status",
        "opened_at",
        "resolved_at",
        "cost_cents",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["customer__name", "product__sku"]
    raw_id_fields = ["customer", "order", "product"]
    date_hierarchy = "opened_at"
