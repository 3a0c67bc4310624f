from django.urls import path

from dashboard import api, personal_views, reconciliation

urlpatterns = [
    path("metrics", api.metrics, name="api-metrics"),
    path("timeseries", api.timeseries, name="api-timeseries"),
    path("me", personal_views.me_api, name="api-me"),
    path("insights", api.insights, name="api-insights"),
    path("reconciliation", reconciliation.api, name="api-reconciliation"),
]
