"""Admin for organisations and users, scoped to the staff user's organisation."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.actions import do_send_password_reset
from accounts.models import Organization, User
from accounts.permissions import is_admin
from infra import validation
from infra.numbers import parse_id

# Date-part lookups the changelist takes from the URL (date_hierarchy, list_filter, or typed by
# hand), with the values a date can have. Anything else (year=99999999999, month=²) is an
# incorrect lookup: Django's admin then shows the list unfiltered with its "?e=1" notice,
# instead of failing with a 500 when the database is asked for a year it cannot hold.
DATE_PART_RANGES = {
    "year": (1, 9999),
    "iso_year": (1, 9999),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}


def bad_date_lookup(params) -> str | None:
    """The first `field__<part>=value` whose value no date has, or None."""
    for key in params:
        part = key.rsplit("__", 1)[-1] if "__" in key else ""
        if part not in DATE_PART_RANGES:
            continue
        low, high = DATE_PART_RANGES[part]
        for raw in params.getlist(key):
            value = parse_id(raw, max_digits=4)
            if value is None or not low <= value <= high:
                return key
    return None


class RenozAdmin(admin.ModelAdmin):
    """Every admin of ours: forms keep the input rules (infra.validation), and date lookups in
    the URL cannot overflow."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            validation.harden_form_fields({db_field.name: field})
        return field

    def get_changelist_instance(self, request):
        if bad_date_lookup(request.GET) is not None:
            raise IncorrectLookupParameters("A date filter is out of range")
        return super().get_changelist_instance(request)


class OrgScopedAdmin(RenozAdmin):
    """Staff see and edit only their own organisation's rows; superusers see all."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(organization_id=request.user.organization_id)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        related = db_field.related_model
        if not request.user.is_superuser and field is not None:
            if related is Organization:
                field.queryset = field.queryset.filter(pk=request.user.organization_id)
            elif any(f.name == "organization" for f in related._meta.get_fields()):
                field.queryset = field.queryset.filter(organization_id=request.user.organization_id)
        return field

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.organization_id = request.user.organization_id
        super().save_model(request, obj, form, change)


@admin.register(Organization)
class OrganizationAdmin(RenozAdmin):
    list_display = ["name", "timezone", "fiscal_year_start_month", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(pk=request.user.organization_id)


@admin.register(User)
class UserAdmin(OrgScopedAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "organization", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "organization", "role"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
    ]

    actions = ["send_password_reset"]

    @admin.action(description="Send a password reset link by e-mail")
    def send_password_reset(self, request, queryset):
        """Admins (role admin) mail each chosen colleague a one-time reset link; the queryset
        is already this organisation's users (get_queryset)."""
        if not (request.user.is_superuser or is_admin(request.user)):
            self.message_user(
                request, "Only administrators can send reset links.", level=messages.ERROR
            )
            return
        sent = [
            u.email
            for u in queryset
            if do_send_password_reset(u, acting_user=request.user, request=request)
        ]
        skipped = queryset.count() - len(sent)
        if sent:
            self.message_user(request, f"Sent a reset link to {', '.join(sent)}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} chosen user(s) got no link: inactive, or no password to reset.",
                messages.WARNING,
            )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        # Staff never see a superuser, so they can neither edit one nor reset its password
        # (the password form loads the user through this queryset too: a 404).
        return qs.filter(is_superuser=False)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Staff manage their colleagues but can never grant superuser or raw permissions.
        hidden = {"is_superuser", "groups", "user_permissions", "organization"}
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]

    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "organization", "role", "password1", "password2"],
            },
        ),
    ]
