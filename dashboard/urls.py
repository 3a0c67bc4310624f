from django.urls import path

from dashboard import (
    ask_views,
    export_views,
    field_views,
    insights_views,
    personal_views,
    reconciliation,
    views,
)

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard-home"),
    path("dashboard/kpis/", views.kpis, name="dashboard-kpis"),
    path("dashboard/widgets/<str:widget_id>/", views.widget, name="dashboard-widget"),
    path("dashboard/ask/", ask_views.ask_page, name="dashboard-ask"),
    path("dashboard/me/", personal_views.me, name="dashboard-me"),
    path("dashboard/me/layout/add/", personal_views.me_layout_add, name="dashboard-me-add"),
    path("dashboard/me/layout/reset/", personal_views.me_layout_reset, name="dashboard-me-reset"),
    path(
        "dashboard/me/layout/<str:widget_id>/move/",
        personal_views.me_layout_move,
        name="dashboard-me-move",
    ),
    path(
        "dashboard/me/layout/<str:widget_id>/remove/",
        personal_views.me_layout_remove,
        name="dashboard-me-remove",
    ),
    path("dashboard/field/", field_views.field, name="dashboard-field"),
    path("dashboard/sw.js", field_views.service_worker, name="dashboard-sw"),
    path("dashboard/jobs/<int:job_id>/", field_views.job_page, name="dashboard-job"),
    path("dashboard/jobs/<int:job_id>/start/", field_views.job_start, name="dashboard-job-start"),
    path(
        "dashboard/jobs/<int:job_id>/complete/",
        field_views.job_complete,
        name="dashboard-job-complete",
    ),
    path("dashboard/activity/", views.activity, name="dashboard-activity"),
    path("dashboard/insights/", insights_views.insights_page, name="dashboard-insights"),
    path("dashboard/insights/hide/", insights_views.insight_hide, name="dashboard-insights-hide"),
    path("dashboard/insights/show/", insights_views.insight_show, name="dashboard-insights-show"),
    path("dashboard/exports/<int:pk>/", export_views.export_status, name="dashboard-export"),
    path(
        "dashboard/exports/<int:pk>/download/",
        export_views.export_download,
        name="dashboard-export-download",
    ),
    path("dashboard/reconciliation/", reconciliation.page, name="dashboard-reconciliation"),
    path(
        "dashboard/reconciliation/notes/",
        reconciliation.add_note,
        name="dashboard-reconciliation-note",
    ),
    path(
        "dashboard/reconciliation/connect/",
        reconciliation.connect,
        name="dashboard-reconciliation-connect",
    ),
    path(
        "dashboard/reconciliation/disconnect/",
        reconciliation.disconnect,
        name="dashboard-reconciliation-disconnect",
    ),
    path(
        "dashboard/widgets/<str:widget_id>/dismiss/",
        views.insight_dismiss,
        name="dashboard-insight-dismiss",
    ),
    path("dashboard/layout/add/", views.layout_add, name="dashboard-layout-add"),
    path("dashboard/layout/reorder/", views.layout_reorder, name="dashboard-layout-reorder"),
    path("dashboard/layout/reset/", views.layout_reset, name="dashboard-layout-reset"),
    path(
        "dashboard/layout/<str:widget_id>/remove/",
        views.layout_remove,
        name="dashboard-layout-remove",
    ),
    path("dashboard/layout/<str:widget_id>/move/", views.layout_move, name="dashboard-layout-move"),
    path(
        "dashboard/layout/<str:widget_id>/resize/",
        views.layout_resize,
        name="dashboard-layout-resize",
    ),
]
