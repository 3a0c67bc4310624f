from django.urls import path

from dashboard import drill_views

urlpatterns = [
    path("<str:metric>/", drill_views.drill_metric, name="drill-metric"),
]
