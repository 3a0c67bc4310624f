from django.urls import path

from reports import views

urlpatterns = [
    path("", views.report_list, name="reports-list"),
    path("new/", views.report_create, name="reports-create"),
    path("next-sends/", views.schedule_preview, name="reports-next-sends"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="reports-unsubscribe"),
    path("<int:pk>/", views.report_detail, name="reports-detail"),
    path("<int:pk>/edit/", views.report_edit, name="reports-edit"),
    path("<int:pk>/preview/", views.report_preview, name="reports-preview"),
    path("<int:pk>/preview.pdf", views.report_preview_pdf, name="reports-preview-pdf"),
    path("<int:pk>/send/", views.report_send_now, name="reports-send-now"),
    path("<int:pk>/toggle/", views.report_toggle, name="reports-toggle"),
    path("<int:pk>/runs/<int:run_pk>/pdf/", views.run_pdf, name="reports-run-pdf"),
]
