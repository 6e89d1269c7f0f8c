from __future__ import annotations

from django.urls import path

from access.views import (
    beacon_page,
    bona_fide,
    committee,
    deliveries,
    htsget,
    participant,
    researcher,
    steward,
)

app_name = "access"

urlpatterns = [
    # Anyone: the beacon's query form (linked from the catalogue)
    path("beacon/", beacon_page.beacon_query, name="beacon"),
    # Researchers
    path("researcher/", researcher.researcher_home, name="researcher_home"),
    path("requests/new/", researcher.request_new, name="request_new"),
    path("requests/<str:accession>/", researcher.request_detail, name="request"),
    path("requests/<str:accession>/edit/", researcher.request_edit, name="request_edit"),
    path("requests/<str:accession>/submit/", researcher.request_submit, name="request_submit"),
    path(
        "requests/<str:accession>/withdraw/", researcher.request_withdraw, name="request_withdraw"
    ),
    path("requests/<str:accession>/renew/", researcher.request_renew, name="request_renew"),
    path("requests/<str:accession>/pdf/", researcher.request_pdf, name="request_pdf"),
    path(
        "requests/<str:accession>/coapplicants/",
        researcher.coapplicant_invite,
        name="coapplicant_invite",
    ),
    path(
        "requests/<str:accession>/coapplicants/<int:invitation_id>/cancel/",
        researcher.coapplicant_cancel,
        name="coapplicant_cancel",
    ),
    path(
        "requests/<str:accession>/agreements/accept/",
        researcher.agreements_accept,
        name="agreements_accept",
    ),
    path("requests/<str:accession>/ethics/", researcher.ethics_upload, name="ethics_upload"),
    path(
        "requests/<str:accession>/ethics/<int:document_id>/",
        researcher.ethics_download,
        name="ethics_download",
    ),
    path("grants/<int:grant_id>/deliveries/", deliveries.delivery_new, name="delivery_request"),
    path("deliveries/<int:delivery_id>/", deliveries.delivery_detail, name="delivery"),
    path(
        "deliveries/<int:delivery_id>/revoke/",
        deliveries.delivery_revoke_page,
        name="delivery_revoke",
    ),
    # The signed URL is the credential: no session, open to anonymous clients (htslib, curl).
    path("download/<str:token>/<str:filename>", deliveries.download, name="download"),
    # htsget tickets point here: the same signed link, answering a region (pysam).
    path("slice/<str:token>/<str:filename>", htsget.slice_view, name="slice"),
    path("invitations/<str:token>/", researcher.invitation, name="invitation"),
    path("researcher/bona-fide/", bona_fide.bona_fide, name="bona_fide"),
    # The signing official's link: no account needed, the token is the credential.
    path("bona-fide/<str:token>/", bona_fide.bona_fide_answer, name="bona_fide_answer"),
    # Committees
    path("committee/", committee.dac_home, name="dac_home"),
    path("review/<str:accession>/", committee.review, name="review"),
    path("review/<str:accession>/<int:review_id>/vote/", committee.vote, name="vote"),
    path("review/<str:accession>/<int:review_id>/decide/", committee.decide, name="decide"),
    path("review/<str:accession>/revoke/<int:committee_id>/", committee.revoke, name="revoke"),
    path("community/<int:committee_id>/", committee.community_use, name="community_use"),
    # Stewards
    path("steward/requests/", steward.steward_requests, name="steward_requests"),
    path("steward/beacon/", steward.steward_beacon, name="steward_beacon"),
    path("steward/committees/", steward.steward_committees, name="steward_committees"),
    path(
        "steward/committees/<int:committee_id>/",
        steward.steward_committee,
        name="steward_committee",
    ),
    # Everyone signed in
    path("notifications/", participant.notifications, name="notifications"),
    # Participants
    path("my-data/", participant.data_use, name="data_use"),
]
