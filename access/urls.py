from __future__ import annotations

from django.urls import path

from access import views

app_name = "access"

urlpatterns = [
    path("researcher/", views.researcher_home, name="researcher_home"),
    path("committee/", views.dac_home, name="dac_home"),
    path("my-data/", views.data_use, name="data_use"),
]
