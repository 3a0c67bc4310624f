from django.urls import path

from alerts import views

urlpatterns = [
    path("", views.rule_list, name="alerts-list"),
    path("new/", views.rule_create, name="alerts-create"),
    path("preview/", views.rule_preview, name="alerts-preview"),
    path("<int:pk>/", views.rule_detail, name="alerts-detail"),
    path("<int:pk>/edit/", views.rule_edit, name="alerts-edit"),
    path("<int:pk>/snooze/", views.rule_snooze, name="alerts-snooze"),
    path("<int:pk>/toggle/", views.rule_toggle, name="alerts-toggle"),
    path("snooze/<str:token>/", views.snooze_link, name="alerts-snooze-link"),
]
