from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard.layouts import layout_changed
        from dashboard.models import DashboardLayout

        # However a layout row changes (an edit, a reset, the admin, a deleted user), the
        # cached layouts of its organisation go.
        post_save.connect(layout_changed, sender=DashboardLayout, dispatch_uid="layout-saved")
        post_delete.connect(layout_changed, sender=DashboardLayout, dispatch_uid="layout-deleted")
