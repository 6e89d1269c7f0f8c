from __future__ import annotations

from django.urls import path

from portal.api import ApiRootApi, ApiTokenRevokeApi, ApiTokensApi, MeApi

app_name = "api"

urlpatterns = [
    path("", ApiRootApi.as_view(), name="root"),
    path("me/", MeApi.as_view(), name="me"),
    path("me/tokens/", ApiTokensApi.as_view(), name="tokens"),
    path("me/tokens/<int:token_id>/", ApiTokenRevokeApi.as_view(), name="token"),
]
