from django.apps import AppConfig


class XeroConfig(AppConfig):
    name = "xero"
    label = "xero"
    verbose_name = "Xero"
    default_auto_field = "django.db.models.BigAutoField"
