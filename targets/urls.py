from django.urls import path

from targets import views

urlpatterns = [
    path("", views.target_list, name="targets-list"),
    path("new/", views.target_create, name="targets-create"),
    path("<int:pk>/edit/", views.target_edit, name="targets-edit"),
    path("<int:pk>/delete/", views.target_delete, name="targets-delete"),
    path("bulk/", views.target_bulk, name="targets-bulk"),
    path("copy/", views.target_copy, name="targets-copy"),
]
