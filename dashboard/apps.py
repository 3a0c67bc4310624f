from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard.layouts import get_layout, layout_changed
        from dashboard.models import DashboardLayout
        from dashboard.tasks import queue_rewarm
        from dashboard.views import page_plan, prerender_insights
        from infra.contextcache import plan
        from insights.tasks import register_after_store
        from metrics.tasks import summaries_refreshed
        from presentation.layouts import register_layout_reader

        # Reports print their owner's layout without importing the dashboard.
        register_layout_reader(lambda user: get_layout(user)[0])

        # The page's request context is read in the same round trip as its user.
        plan(page_plan)
        # A user's stored findings get their insights body rendered for their next page.
        register_after_store(prerender_insights)

        # However a layout row changes (an edit, a reset, the admin, a deleted user), the
        # cached layouts of its organisation go.
        post_save.connect(layout_changed, sender=DashboardLayout, dispatch_uid="layout-saved")
        post_delete.connect(layout_changed, sender=DashboardLayout, dispatch_uid="layout-deleted")

        # After a refresh, the screens' values the writes dropped are computed again for the
        # organisations someone reads (dashboard.tasks.rewarm_after_refresh).
        summaries_refreshed.connect(queue_rewarm, dispatch_uid="dashboard-rewarm-after-refresh")
