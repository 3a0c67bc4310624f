from django.urls import path

from annotations import views

urlpatterns = [
    path("", views.annotation_list, name="annotations-list"),
    path("new/", views.annotation_create, name="annotations-create"),
    path("import/", views.annotation_import, name="annotations-import"),
    path("<int:pk>/edit/", views.annotation_edit, name="annotations-edit"),
    path("<int:pk>/delete/", views.annotation_delete, name="annotations-delete"),
]
