from django.urls import path

from annotations import api

urlpatterns = [path("annotations", api.annotations_api, name="api-annotations")]
