from django.urls import path

from alerts import follow_views

urlpatterns = [
    path("follow/", follow_views.follow_toggle, name="alerts-follow"),
    path("settings/", follow_views.settings_page, name="alerts-settings"),
    path("settings/digest/", follow_views.digest_preview, name="alerts-digest-preview"),
    path("settings/follows/<int:pk>/unfollow/", follow_views.unfollow, name="alerts-unfollow"),
]
