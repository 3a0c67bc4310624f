from django.apps import AppConfig


class AskConfig(AppConfig):
    name = "ask"
    default_auto_field = "django.db.models.BigAutoField"
