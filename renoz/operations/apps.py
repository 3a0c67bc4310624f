from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "renoz.operations"
    label = "operations"
    verbose_name = "Operations"
