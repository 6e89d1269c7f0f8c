from __future__ import annotations

from django.urls import path

from datasets import views

app_name = "datasets"

urlpatterns = [
    path("steward/", views.steward_home, name="steward_home"),
]
