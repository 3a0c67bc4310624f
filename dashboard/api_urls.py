from django.urls import path

from dashboard import api

urlpatterns = [
    path("metrics", api.metrics, name="api-metrics"),
    path("timeseries", api.timeseries, name="api-timeseries"),
    path("insights", api.insights, name="api-insights"),
]
