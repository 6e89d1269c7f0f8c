from __future__ import annotations

from django.urls import path

from access import api

app_name = "access_api"

R = "requests/<str:accession>/"

urlpatterns = [
    path("requests/", api.AccessRequestsApi.as_view(), name="requests"),
    path(R, api.AccessRequestApi.as_view(), name="request"),
    path(f"{R}submit/", api.AccessRequestSubmitApi.as_view(), name="submit"),
    path(f"{R}withdraw/", api.AccessRequestWithdrawApi.as_view(), name="withdraw"),
    path(f"{R}renew/", api.AccessRequestRenewApi.as_view(), name="renew"),
    path(f"{R}timeline/", api.AccessRequestTimelineApi.as_view(), name="timeline"),
    path(f"{R}match/", api.AccessRequestMatchApi.as_view(), name="match"),
    path(f"{R}coapplicants/", api.CoApplicantInviteApi.as_view(), name="coapplicant_invite"),
    path(
        f"{R}coapplicants/<int:invitation_id>/",
        api.CoApplicantCancelApi.as_view(),
        name="coapplicant_cancel",
    ),
    path(f"{R}agreements/", api.RequestAgreementsApi.as_view(), name="agreements"),
    path(
        f"{R}agreements/accept/",
        api.RequestAgreementsAcceptApi.as_view(),
        name="agreements_accept",
    ),
    path(f"{R}ethics/", api.EthicsUploadApi.as_view(), name="ethics_upload"),
    path(f"{R}ethics/<int:document_id>/", api.EthicsDownloadApi.as_view(), name="ethics_download"),
    path(f"{R}reviews/", api.AccessRequestReviewsApi.as_view(), name="reviews"),
    path(f"{R}reviews/<int:review_id>/vote/", api.VoteCastApi.as_view(), name="vote"),
    path(f"{R}reviews/<int:review_id>/decision/", api.ReviewDecideApi.as_view(), name="decide"),
    path(f"{R}revoke/", api.GrantsRevokeApi.as_view(), name="revoke"),
    path(f"{R}deliveries/", api.RequestDeliveriesApi.as_view(), name="request_deliveries"),
    path(
        "invitations/<str:token>/accept/",
        api.InvitationAcceptApi.as_view(),
        name="invitation_accept",
    ),
    path(
        "invitations/<str:token>/decline/",
        api.InvitationDeclineApi.as_view(),
        name="invitation_decline",
    ),
    path("grants/", api.GrantListApi.as_view(), name="grants"),
    path("grants/<int:grant_id>/", api.GrantDetailApi.as_view(), name="grant"),
    path(
        "grants/<int:grant_id>/deliveries/",
        api.DeliveryCreateApi.as_view(),
        name="delivery_create",
    ),
    path("deliveries/<int:delivery_id>/", api.DeliveryDetailApi.as_view(), name="delivery"),
    path(
        "deliveries/<int:delivery_id>/revoke/",
        api.DeliveryRevokeApi.as_view(),
        name="delivery_revoke",
    ),
    path("notifications/", api.NotificationListApi.as_view(), name="notifications"),
    path("notifications/read/", api.NotificationReadApi.as_view(), name="notifications_read"),
    path(
        "committees/<int:committee_id>/agreements/",
        api.CommitteeAgreementsApi.as_view(),
        name="committee_agreements",
    ),
    path(
        "communities/<int:committee_id>/uses/",
        api.CommunityUseListApi.as_view(),
        name="community_uses",
    ),
]
