from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from portal.models import Role


class OtpSessionScheme(SessionScheme):
    """Documents the OTP-aware session authentication as the cookie scheme it is."""

    target_class = "portal.authentication.OtpSessionAuthentication"


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
