from __future__ import annotations

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("", views.home, name="home"),
    path("participants/", views.participants, name="participants"),
]
