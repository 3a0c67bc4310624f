from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"

    def ready(self) -> None:
        # After a refresh, store the findings of the organisations it touched (insights.tasks).
        from insights.tasks import queue_after_refresh
        from metrics.tasks import summaries_refreshed

        summaries_refreshed.connect(queue_after_refresh, dispatch_uid="insights-after-refresh")
