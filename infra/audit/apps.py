from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "infra.audit"
    label = "renoz_audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.apps import apps

        # Reports are added here when their app has models (ScheduledReport).
        for label in AUDITED_MODELS:
            auditlog.register(apps.get_model(label))
        # Who connected or disconnected Xero; never the token (docs/xero.md, "Tokens").
        auditlog.register(
            apps.get_model("xero.XeroConnection"), exclude_fields=["token_ciphertext"]
        )


AUDITED_MODELS = ("targets.Target", "dashboard.DashboardLayout", "xero.ReconciliationNote")
