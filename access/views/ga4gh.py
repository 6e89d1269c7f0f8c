"""GA4GH endpoints: Passport visas (own, or any user's for stewards and committees), the
JWKS that verifies them, and the public documents visas point at (a committee, an agreement).

Credentials for the passport endpoints: the session (with its second factor where the role
needs one) or a personal API token (any scope), sent as `Authorization: Bearer <token>`
(GA4GH clients) or `Token <token>`. Without any: 401 problem+json.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import visas
from access.models import DataAccessAgreement
from access.selectors.visas import visas_of
from access.services.visas import visa_key_current
from datasets.models import Committee, DatasetStatus
from portal.authentication import ApiTokenAuthentication, OtpSessionAuthentication
from portal.exceptions import NotFoundError
from portal.models import Role, User

# Verifiers cache the key set briefly; one that meets an unknown kid fetches it again.
JWKS_MAX_AGE = 300


AUTHENTICATION = [ApiTokenAuthentication, OtpSessionAuthentication]


def api_exception_answer(exc: drf_exceptions.APIException) -> tuple[int, str]:
    """(status, message) for DRF's own refusals in a GA4GH protocol's error shape: a missing
    or failed credential is 401 (DRF says 403 when no scheme asks for a header), and a body
    DRF could not parse says so."""
    status = exc.status_code
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        status = 401
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, drf_exceptions.ParseError):
        detail = f"The body is not valid JSON: {detail}"
    return status, str(detail)


class SeesPassports(BasePermission):
    message = (
        "Only data stewards and data access committee members see other people's visas; "
        "your own are at /ga4gh/passport/v1/visas."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user.is_authenticated and user.has_role(Role.STEWARD, Role.DAC_CHAIR, Role.DAC_MEMBER)
        )


PASSPORT = inline_serializer(
    "Ga4ghPassport",
    {"ga4gh_passport_v1": serializers.ListField(child=serializers.CharField())},
)


def _passport(user: User) -> Response:
    key = visa_key_current()
    response = Response(visas.passport(visas_of(user), user_id=user.pk, key=key))
    # Visas are credentials: no shared or browser cache keeps them.
    response["Cache-Control"] = "no-store"
    return response


class PassportVisasApi(APIView):
    """The signed-in person's visas, each a JWS to verify against /ga4gh/jwks.json."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="ga4gh_passport_visas",
        responses={200: PASSPORT, 401: OpenApiResponse(description="No valid credentials")},
    )
    def get(self, request: Request) -> Response:
        return _passport(request.user)


class UserPassportVisasApi(APIView):
    """Anyone's visas, for data stewards and committee members (chairs included)."""

    authentication_classes = AUTHENTICATION
    permission_classes = [IsAuthenticated, SeesPassports]

    @extend_schema(
        operation_id="ga4gh_user_passport_visas",
        responses={
            200: PASSPORT,
            401: OpenApiResponse(description="No valid credentials"),
            403: OpenApiResponse(description="Not a steward or committee member"),
            404: OpenApiResponse(description="No such user"),
        },
    )
    def get(self, request: Request, user_id: int) -> Response:
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            raise NotFoundError(f"There is no user {user_id}.")
        return _passport(user)


@require_GET
@cache_control(public=True, max_age=JWKS_MAX_AGE)
def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(visas.jwks())


@require_GET
@cache_control(public=True, max_age=JWKS_MAX_AGE)
def committee(request: HttpRequest, committee_id: int) -> JsonResponse:
    """The committee a visa's `source` names: who it is, and the released data it governs."""
    found = get_object_or_404(Committee, pk=committee_id)
    datasets = found.datasets.filter(status=DatasetStatus.RELEASED).order_by("accession")
    return JsonResponse(
        {
            "id": found.pk,
            "name": found.name,
            "kind": found.kind,
            "description": found.description,
            "datasets": list(datasets.values_list("accession", flat=True)),
        }
    )


@require_GET
@cache_control(public=True, max_age=JWKS_MAX_AGE)
def agreement(request: HttpRequest, agreement_id: int) -> HttpResponse:
    """The text of a data-access agreement an AcceptedTermsAndPolicies visa names."""
    found = DataAccessAgreement.objects.select_related("committee").filter(pk=agreement_id).first()
    if found is None:
        raise Http404("No data-access agreement has this number.")
    heading = f"{found.committee.name}: data-access agreement, version {found.version}"
    body = f"{heading}\n{'=' * len(heading)}\n\n{found.text.strip()}\n"
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
