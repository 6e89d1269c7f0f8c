from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from portal import services
from portal.exceptions import PermissionError_
from portal.models import ApiToken, ApiTokenScope, Role
from portal.selectors import api_token_of, api_token_state, api_tokens_of


class OtpSessionScheme(SessionScheme):
    """Documents the OTP-aware session authentication as the cookie scheme it is."""

    target_class = "portal.authentication.OtpSessionAuthentication"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Personal API tokens, documented as bearer tokens (`Token <token>` works too)."""

    target_class = "portal.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}


class ApiRootApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot", {"version": serializers.CharField(), "links": serializers.DictField()}
        )
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "version": "v1",
                "links": {
                    "me": reverse("api:me", request=request),
                    "my_consent": reverse("consent_api:me", request=request),
                    "participants": reverse("consent_api:participants", request=request),
                    "datasets": reverse("datasets_api:list", request=request),
                    "access_requests": reverse("access_api:requests", request=request),
                    "schema": reverse("api_schema", request=request),
                    "docs": reverse("api_docs", request=request),
                },
            }
        )


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    # Kept for existing clients: the role /home/ follows; `roles` lists every role held.
    role = serializers.CharField(source="primary_role", allow_null=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    institution = serializers.CharField()


class MeApi(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class ApiTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise it")
    scope = serializers.ChoiceField(choices=ApiTokenScope.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="To the minute: updated at most once a minute"
    )
    revoked_at = serializers.DateTimeField(allow_null=True)
    state = serializers.SerializerMethodField()

    def get_state(self, token: ApiToken) -> str:
        return api_token_state(token)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The secret: shown only in this response")


class ApiTokensApi(APIView):
    """Your personal API tokens: list them (GET, any token or the session) and create one
    (POST, with the signed-in session only: a token never makes another token)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ApiTokenCreateInput"

        name = serializers.CharField(max_length=100)
        scope = serializers.ChoiceField(choices=ApiTokenScope.choices)
        expires_in_days = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="Days until the token expires (default and maximum set by the portal)",
        )

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ApiTokenSerializer(api_tokens_of(request.user), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: ApiTokenCreatedSerializer,
            403: OpenApiResponse(description="Sent with an API token, not a session"),
            409: OpenApiResponse(description="Too many working tokens"),
        },
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            raise PermissionError_(
                "API tokens are created on your account page (or by the API with your "
                "signed-in browser session), never with another token.",
                code="token_creates_token",
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = services.api_token_create(
            actor=request.user,
            name=data.validated_data["name"],
            scope=data.validated_data["scope"],
            expires_in_days=data.validated_data.get(
                "expires_in_days", settings.CUSTODIAN_API_TOKEN_DAYS
            ),
        )
        body = ApiTokenSerializer(token).data | {"token": secret}
        return Response(body, status=201)


class ApiTokenRevokeApi(APIView):
    """Revoke one of your tokens (the session, or a token with the write scope)."""

    @extend_schema(
        responses={204: None, 404: OpenApiResponse(description="Not one of your tokens")}
    )
    def delete(self, request: Request, token_id: int) -> Response:
        services.api_token_revoke(actor=request.user, token=api_token_of(request.user, token_id))
        return Response(status=204)
