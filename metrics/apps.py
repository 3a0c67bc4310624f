from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metric layer"

    def ready(self):
        from infra import health
        from metrics import signals  # noqa: F401 - connects the write-path receivers
        from metrics.cache import cache_stats

        health.register_detail("cache", cache_stats)
