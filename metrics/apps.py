from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metric layer"

    def ready(self):
        from metrics import signals  # noqa: F401 - connects the write-path receivers
