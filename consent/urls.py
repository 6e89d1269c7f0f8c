from __future__ import annotations

from django.urls import path

from consent import views
from consent.views.verify import receipt_proof, receipt_verify

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
    path("handover/", views.handover, name="handover"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("withdraw/confirm/", views.withdraw_confirm, name="withdraw_confirm"),
    path("receipts/<int:record_id>/", views.receipt, name="receipt"),
    path("receipts/<int:record_id>/pdf/", views.receipt_pdf, name="receipt_pdf"),
    path("receipts/<int:record_id>/verify/", receipt_verify, name="receipt_verify"),
    path("receipts/<int:record_id>/proof/", receipt_proof, name="receipt_proof"),
    path("questions/", views.questions, name="questions"),
    path("questions/<int:question_id>/answer/", views.question_answer, name="question_answer"),
    # --- stewards
    path("participants/", views.participants, name="participants"),
    path("participants/import/", views.participants_import, name="participants_import"),
    path(
        "participants/<int:participant_id>/proxy/",
        views.participant_proxy_link,
        name="participant_proxy_link",
    ),
    path("overview/", views.overview, name="overview"),
    path("documents/", views.document_list, name="documents"),
    path("documents/new/", views.document_create, name="document_create"),
    path(
        "documents/<int:document_id>/versions/new/",
        views.version_create,
        name="version_create",
    ),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("versions/<int:version_id>/publish/", views.version_publish, name="version_publish"),
]
