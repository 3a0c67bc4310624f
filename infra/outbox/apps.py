from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "infra.outbox"
    label = "outbox"
    verbose_name = "Outbox"
