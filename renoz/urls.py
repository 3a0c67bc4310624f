from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from infra import health

# Styled pages for people, JSON on /api/ (infra/errors.py; docs/architecture.md, "Errors").
handler403 = "infra.errors.permission_denied"
handler404 = "infra.errors.page_not_found"
handler500 = "infra.errors.server_error"

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Browsers ask for /favicon.ico on non-HTML responses (JSON, CSS); answer, never 404.
    path("favicon.ico", RedirectView.as_view(url="/static/img/favicon.svg", permanent=True)),
    path("api/dashboard/", include("dashboard.api_urls")),
    path("api/", include("alerts.api_urls")),
    path("api/", include("annotations.api_urls")),
    path("dashboard/targets/", include("targets.urls")),
    path("dashboard/drill/", include("dashboard.drill_urls")),
    path("dashboard/reports/", include("reports.urls")),
    path("dashboard/alerts/", include("alerts.urls")),
    path("dashboard/annotations/", include("annotations.urls")),
    path("dashboard/", include("alerts.follow_urls")),
    path("", include("dashboard.urls")),
]
