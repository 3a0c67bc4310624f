"""Targets in the Django admin, scoped to the staff user's organisation."""

from django import forms
from django.contrib import admin

from accounts.admin import OrgScopedAdmin
from metrics.definitions import METRICS
from targets.models import Target


class TargetAdminForm(forms.ModelForm):
    metric = forms.ChoiceField(choices=[(k, m.label) for k, m in METRICS.items()])

    class Meta:
        model = Target
        fields = ["organization", "metric", "period_kind", "period_start", "value", "user"]


@admin.register(Target)
class TargetAdmin(OrgScopedAdmin):
    form = TargetAdminForm
    list_display = ["metric", "period_kind", "period_start", "value", "user", "organization"]
    list_filter = ["metric", "period_kind"]
    search_fields = ["metric", "user__email", "user__full_name"]
    date_hierarchy = "period_start"
    ordering = ["-period_start", "metric"]
    list_select_related = ["organization", "user"]
    readonly_fields = ["created_at", "updated_at"]
