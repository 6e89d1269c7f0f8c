from __future__ import annotations

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("proxy/", views.proxy_home, name="proxy_home"),
    path("", views.home, name="home"),
    path("form/", views.journey_start, name="journey_start"),
    path("form/section/<int:number>/", views.journey_section, name="journey_section"),
    path("form/questions/", views.journey_quiz, name="journey_quiz"),
    path("form/choices/", views.journey_choices, name="journey_choices"),
    path("form/review/", views.journey_review, name="journey_review"),
    path("change/<slug:key>/", views.choice_change, name="choice_change"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("withdraw/confirm/", views.withdraw_confirm, name="withdraw_confirm"),
    path("receipts/<int:record_id>/", views.receipt, name="receipt"),
    path("receipts/<int:record_id>/pdf/", views.receipt_pdf, name="receipt_pdf"),
    path("participants/", views.participants, name="participants"),
]
