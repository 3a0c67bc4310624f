from django.urls import path

from dashboard import api, ask_views, personal_views, reconciliation

urlpatterns = [
    path("metrics", api.metrics, name="api-metrics"),
    path("timeseries", api.timeseries, name="api-timeseries"),
    path("me", personal_views.me_api, name="api-me"),
    path("insights", api.insights, name="api-insights"),
    path("ask", ask_views.ask_api, name="api-ask"),
    path("reconciliation", reconciliation.api, name="api-reconciliation"),
]
