from django.urls import path

from alerts import api, follow_views

urlpatterns = [
    path("alerts", api.alerts, name="api-alerts"),
    path("alerts/<int:pk>/events", api.events, name="api-alert-events"),
    path("follows", follow_views.follows_api, name="api-follows"),
    path("follows/<int:pk>", follow_views.follows_api, name="api-follow"),
]
