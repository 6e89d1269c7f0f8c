from __future__ import annotations

from django.urls import path

from portal.api import ApiRootApi, MeApi

app_name = "api"

urlpatterns = [
    path("", ApiRootApi.as_view(), name="root"),
    path("me/", MeApi.as_view(), name="me"),
]
