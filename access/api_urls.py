from __future__ import annotations

from django.urls import path

from access import api

app_name = "access_api"

urlpatterns: list = [
    path("requests/", api.AccessRequestListApi.as_view(), name="requests"),
]
