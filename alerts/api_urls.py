from django.urls import path

from alerts import api

urlpatterns = [
    path("alerts", api.alerts, name="api-alerts"),
    path("alerts/<int:pk>/events", api.events, name="api-alert-events"),
    path("follows", api.follows, name="api-follows"),
    path("follows/<int:pk>", api.follows, name="api-follow"),
]
