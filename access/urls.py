from __future__ import annotations

from django.urls import path

from access import views

app_name = "access"

urlpatterns = [
    # Researchers
    path("researcher/", views.researcher_home, name="researcher_home"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<str:accession>/", views.request_detail, name="request"),
    path("requests/<str:accession>/edit/", views.request_edit, name="request_edit"),
    path("requests/<str:accession>/submit/", views.request_submit, name="request_submit"),
    path("requests/<str:accession>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("requests/<str:accession>/renew/", views.request_renew, name="request_renew"),
    path("requests/<str:accession>/pdf/", views.request_pdf, name="request_pdf"),
    path(
        "requests/<str:accession>/coapplicants/",
        views.coapplicant_invite,
        name="coapplicant_invite",
    ),
    path(
        "requests/<str:accession>/coapplicants/<int:invitation_id>/cancel/",
        views.coapplicant_cancel,
        name="coapplicant_cancel",
    ),
    path(
        "requests/<str:accession>/agreements/accept/",
        views.agreements_accept,
        name="agreements_accept",
    ),
    path("requests/<str:accession>/ethics/", views.ethics_upload, name="ethics_upload"),
    path(
        "requests/<str:accession>/ethics/<int:document_id>/",
        views.ethics_download,
        name="ethics_download",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    # Committees
    path("committee/", views.dac_home, name="dac_home"),
    path("review/<str:accession>/", views.review, name="review"),
    path("review/<str:accession>/<int:review_id>/vote/", views.vote, name="vote"),
    path("review/<str:accession>/<int:review_id>/decide/", views.decide, name="decide"),
    path("review/<str:accession>/revoke/<int:committee_id>/", views.revoke, name="revoke"),
    path("community/<int:committee_id>/", views.community_use, name="community_use"),
    # Stewards
    path("steward/requests/", views.steward_requests, name="steward_requests"),
    path("steward/committees/", views.steward_committees, name="steward_committees"),
    path(
        "steward/committees/<int:committee_id>/",
        views.steward_committee,
        name="steward_committee",
    ),
    # Everyone signed in
    path("notifications/", views.notifications, name="notifications"),
    # Participants
    path("my-data/", views.data_use, name="data_use"),
]
