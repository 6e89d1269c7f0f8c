"""The access API: one view per operation, in the OpenAPI schema.

Every view loads what it acts on through a permission-aware getter (`request_for`,
`grant_for`, `visible_grants`: what the user may not see is "not found"), calls one
service, and answers with what the user may read: `access.permissions` decides, and the
view picks the serializer (committees and stewards see votes; applicants never do).
Services' refusals become problem+json through `portal.exceptions`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from access import permissions, services
from access.models import (
    AccessRequest,
    CommitteeReview,
    DataAccessAgreement,
    Delivery,
    DeliveryStatus,
    EthicsDocument,
    PrimaryUse,
    RequestEvent,
    RequestStatus,
    ReviewDecision,
    SensitiveArea,
    Vote,
    VoteChoice,
)
from access.permissions import RequestRights
from access.purpose import request_match
from access.selectors import lookups
from access.selectors import requests as selectors
from access.selectors.agreements import current_agreements, missing_acceptances
from access.selectors.consented import consent_breakdown
from access.selectors.deliveries import (
    delivery_for,
    delivery_records,
    delivery_records_visible,
    delivery_visible,
    links_of,
)
from datasets.models import Committee, Dataset
from datasets.selectors import SMALL_COUNT
from portal.exceptions import NotFoundError, PermissionError_
from portal.filters import QueryFilters
from portal.models import ApiTokenScope, Notification, User
from portal.pagination import MAX_OFFSET, PageParameters, Pagination

# --- shared output serializers ------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()


class RequestedDatasetSerializer(serializers.Serializer):
    accession = serializers.CharField()
    title = serializers.CharField()
    committee = serializers.CharField(source="committee.name")


def _request_url(request: Request, accession: str | None) -> str:
    return reverse("access_api:request", args=[accession], request=request)


class AccessRequestSummarySerializer(serializers.Serializer):
    accession = serializers.CharField()
    url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    status_display = serializers.CharField(source="get_status_display")
    title = serializers.CharField()
    applicant = PersonSerializer()
    institution = serializers.CharField()
    datasets = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, obj: AccessRequest) -> str:
        return _request_url(self.context["request"], obj.accession)

    def get_datasets(self, obj: AccessRequest) -> list[str]:
        return [rd.dataset.accession or "" for rd in obj.requested_datasets.all()]


class QueueItemSerializer(AccessRequestSummarySerializer):
    waiting_for_me = serializers.BooleanField(
        source="waiting",
        required=False,
        help_text="role=committee only: your committee waits for your vote on it",
    )


class RequestListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Requests matching the filters")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Requests of this list by status"
    )
    waiting_for_me = serializers.IntegerField(
        allow_null=True, help_text="role=committee: requests waiting for your vote"
    )
    results = QueueItemSerializer(many=True)


class CoApplicantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    status = serializers.CharField()
    expired = serializers.BooleanField(source="is_expired")
    invited_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


class EthicsDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj: EthicsDocument) -> str:
        return reverse(
            "access_api:ethics_download",
            args=[obj.request.accession, obj.pk],
            request=self.context["request"],
        )


class GrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.CharField(source="request.accession")
    dataset = serializers.CharField(source="dataset.accession")
    dataset_title = serializers.CharField(source="dataset.title")
    committee = serializers.CharField(source="review.committee.name")
    grantee = PersonSerializer()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(help_text="The last day of use, inclusive")
    state = serializers.ChoiceField(
        choices=[(s, s) for s in lookups.GRANT_STATES], help_text="By today's date"
    )
    conditions = serializers.CharField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoke_reason = serializers.CharField()


class VoteSerializer(serializers.Serializer):
    member = PersonSerializer()
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    rationale = serializers.CharField()
    cast_at = serializers.DateTimeField()


class ReviewSummarySerializer(serializers.Serializer):
    """A committee's review as the applicants see it: its decision, never its votes."""

    id = serializers.IntegerField()
    committee = serializers.CharField(source="committee.name")
    committee_id = serializers.IntegerField()
    kind = serializers.CharField(source="committee.kind")
    review_round = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()
    grant_end = serializers.DateField(allow_null=True)
    conditions = serializers.CharField()


class InternalReviewSummarySerializer(ReviewSummarySerializer):
    """What committees and stewards see besides: the votes and the chair's justification."""

    # Left out for the applicants (ReviewSummarySerializer's fields only).
    justification = serializers.CharField(required=False)
    match_outcome = serializers.CharField(required=False)
    votes = VoteSerializer(many=True, required=False)


class RightsSerializer(serializers.Serializer):
    edit = serializers.BooleanField()
    act_as_applicant = serializers.BooleanField()
    view_internal = serializers.BooleanField()
    steward = serializers.BooleanField()
    member_of = serializers.ListField(child=serializers.IntegerField())
    chair_of = serializers.ListField(child=serializers.IntegerField())


class AccessRequestDetailSerializer(AccessRequestSummarySerializer):
    lay_summary = serializers.CharField()
    scientific_abstract = serializers.CharField()
    primary_use = serializers.CharField()
    diseases = serializers.ListField(child=serializers.CharField())
    methods_development = serializers.BooleanField()
    commercial = serializers.BooleanField()
    for_profit_organisation = serializers.BooleanField()
    countries = serializers.ListField(child=serializers.CharField())
    sensitive_areas = serializers.ListField(child=serializers.CharField())
    access_end = serializers.DateField(allow_null=True)
    signing_official_name = serializers.CharField()
    signing_official_email = serializers.CharField()
    security_attestation = serializers.BooleanField()
    review_round = serializers.IntegerField()
    renewal_of = serializers.CharField(source="renewal_of.accession", allow_null=True)
    requested_datasets = serializers.SerializerMethodField()

    def get_requested_datasets(self, obj: AccessRequest) -> list[dict[str, Any]]:
        return RequestedDatasetSerializer(
            [rd.dataset for rd in obj.requested_datasets.all()], many=True
        ).data


class AccessRequestPageSerializer(serializers.Serializer):
    """GET requests/<accession>/: the request and what surrounds it, as the user may see."""

    request = AccessRequestDetailSerializer()
    rights = RightsSerializer()
    submission_problems = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text="For the applicant of an editable request: what keeps it from submission",
    )
    coapplicants = CoApplicantSerializer(many=True)
    ethics = EthicsDocumentSerializer(many=True)
    reviews = InternalReviewSummarySerializer(
        many=True, help_text="Votes, justification and match only for committees and stewards"
    )
    grants = GrantSerializer(many=True)


def _rights(rights: RequestRights) -> dict[str, Any]:
    return {
        "edit": rights.edit,
        "act_as_applicant": rights.act_as_applicant,
        "view_internal": rights.view_internal,
        "steward": rights.steward,
        "member_of": sorted(rights.member_of),
        "chair_of": sorted(rights.chair_of),
    }


def _loaded(request: Request, accession: str) -> AccessRequest:
    """The request with its datasets, if the user may see it (else the same 404)."""
    found = selectors.request_for(request.user, accession)
    return selectors.with_datasets(AccessRequest.objects.filter(pk=found.pk)).select_related(
        "renewal_of"
    )[0]


def _page(request: Request, access_request: AccessRequest) -> dict[str, Any]:
    user = request.user
    rights = permissions.request_rights(user, access_request)
    context = {"request": request}
    ethics = selectors.ethics_of(access_request)
    for document in ethics:
        document.request = access_request
    return {
        "request": AccessRequestDetailSerializer(access_request, context=context).data,
        "rights": _rights(rights),
        "submission_problems": services.submission_problems(access_request)
        if rights.edit
        else None,
        "coapplicants": CoApplicantSerializer(
            selectors.coapplicants_of(access_request), many=True
        ).data,
        "ethics": EthicsDocumentSerializer(ethics, many=True, context=context).data,
        "reviews": [
            _review_summary(rights, review) for review in lookups.review_summaries(access_request)
        ],
        "grants": GrantSerializer(selectors.grants_of(access_request), many=True).data,
    }


def _detail(request: Request, accession: str, *, status: int = 200) -> Response:
    return Response(_page(request, _loaded(request, accession)), status=status)


# --- requests -----------------------------------------------------------------------------------


class RequestFieldsSerializer(serializers.Serializer):
    """The editable fields of a request; every field is optional (drafts save any time)."""

    datasets = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Accessions of the requested datasets (replaces the list)",
    )
    title = serializers.CharField(required=False, allow_blank=True)
    lay_summary = serializers.CharField(required=False, allow_blank=True)
    scientific_abstract = serializers.CharField(required=False, allow_blank=True)
    primary_use = serializers.CharField(
        required=False, allow_blank=True, help_text=f"One of {', '.join(PrimaryUse.values)}"
    )
    diseases = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Disease ontology ids (DS)"
    )
    methods_development = serializers.BooleanField(required=False)
    commercial = serializers.BooleanField(required=False)
    for_profit_organisation = serializers.BooleanField(required=False)
    countries = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="ISO 3166 two-letter codes"
    )
    sensitive_areas = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=f"Any of {', '.join(SensitiveArea.values)}",
    )
    institution = serializers.CharField(required=False, allow_blank=True)
    access_end = serializers.DateField(required=False, allow_null=True)
    signing_official_name = serializers.CharField(required=False, allow_blank=True)
    signing_official_email = serializers.CharField(required=False, allow_blank=True)
    security_attestation = serializers.BooleanField(required=False)

    def validate_datasets(self, accessions: list[str]) -> list[int]:
        found = dict(
            Dataset.objects.filter(accession__in=accessions).values_list("accession", "pk")
        )
        unknown = [a for a in dict.fromkeys(accessions) if a not in found]
        if unknown:
            raise serializers.ValidationError(
                [f"No dataset has the accession {a}." for a in unknown]
            )
        return [found[a] for a in dict.fromkeys(accessions)]


def _fields(data: RequestFieldsSerializer) -> tuple[list[int] | None, dict[str, Any]]:
    fields = dict(data.validated_data)
    return fields.pop("datasets", None), fields


class AccessRequestListApi(APIView):
    """Your requests and those you co-apply to; `role=committee`: your committees' queue;
    `role=all`: every request (stewards)."""

    class FilterSerializer(QueryFilters):
        class Meta:
            ref_name = "AccessRequestListFilter"

        role = serializers.ChoiceField(
            choices=["mine", "committee", "all"], required=False, default="mine"
        )
        state = serializers.ChoiceField(
            choices=RequestStatus.values, required=False, allow_blank=True, default=""
        )
        dataset = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="A dataset accession"
        )
        waiting = serializers.BooleanField(
            required=False, default=False, help_text="role=committee: waiting for my vote"
        )
        page = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_OFFSET, default=1
        )

    @extend_schema(
        operation_id="access_requests_list",
        parameters=[FilterSerializer],
        responses=RequestListSerializer,
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        context = {"request": request}
        if f["role"] == "committee":
            queue = selectors.committee_queue(
                request.user,
                state=f["state"],
                dataset=f["dataset"],
                waiting_for_me=f["waiting"],
                page=f["page"],
            )
            return Response(
                {
                    "count": queue.total,
                    "page": queue.page,
                    "pages": queue.pages,
                    "counts": queue.counts,
                    "waiting_for_me": queue.waiting_for_me,
                    "results": QueueItemSerializer(queue.requests, many=True, context=context).data,
                }
            )
        if f["role"] == "all":
            if not permissions.is_steward(request.user):
                raise PermissionError_("Only data stewards list every request.")
            found = selectors.steward_requests(state=f["state"])
        else:
            found = selectors.my_requests(request.user)
        counts = lookups.status_counts(found)
        if f["state"]:
            found = found.filter(status=f["state"])
        if f["dataset"]:
            found = found.filter(requested_datasets__dataset__accession=f["dataset"])
        total = found.count()
        size = selectors.PAGE_SIZE
        pages = max(1, -(-total // size))
        page = min(f["page"], pages)
        rows = found[(page - 1) * size : page * size]
        return Response(
            {
                "count": total,
                "page": page,
                "pages": pages,
                "counts": counts,
                "waiting_for_me": None,
                "results": AccessRequestSummarySerializer(rows, many=True, context=context).data,
            }
        )


class AccessRequestCreateApi(APIView):
    """Start a draft (researchers). It may be incomplete: drafts save at any time."""

    class InputSerializer(RequestFieldsSerializer):
        class Meta:
            ref_name = "AccessRequestCreateInput"

    @extend_schema(
        operation_id="access_requests_create",
        request=InputSerializer,
        responses={201: AccessRequestPageSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset_ids, fields = _fields(data)
        created = services.access_request_create(
            actor=request.user, dataset_ids=dataset_ids or [], **fields
        )
        return _detail(request, created.accession or "", status=201)


class AccessRequestDetailApi(APIView):
    """A request with its co-applicants, ethics documents, reviews and grants."""

    @extend_schema(operation_id="access_request_read", responses=AccessRequestPageSerializer)
    def get(self, request: Request, accession: str) -> Response:
        return _detail(request, accession)


class AccessRequestUpdateApi(APIView):
    """Save changes to a draft or a returned request (the applicant only)."""

    class InputSerializer(RequestFieldsSerializer):
        class Meta:
            ref_name = "AccessRequestUpdateInput"

    @extend_schema(
        operation_id="access_request_update",
        request=InputSerializer,
        responses=AccessRequestPageSerializer,
    )
    def patch(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        dataset_ids, fields = _fields(data)
        services.access_request_update(
            actor=request.user, request=access_request, dataset_ids=dataset_ids, **fields
        )
        return _detail(request, accession)


class AccessRequestSubmitApi(APIView):
    """Submit for review; refused with every missing or invalid field at once."""

    @extend_schema(request=None, responses=AccessRequestPageSerializer)
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        services.access_request_submit(actor=request.user, request=access_request)
        return _detail(request, accession)


class AccessRequestWithdrawApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AccessRequestWithdrawInput"

        comment = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses=AccessRequestPageSerializer)
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.access_request_withdraw(
            actor=request.user, request=access_request, comment=data.validated_data["comment"]
        )
        return _detail(request, accession)


class AccessRequestRenewApi(APIView):
    """A new draft pre-filled from an approved or expired request, linked to it."""

    @extend_schema(request=None, responses={201: AccessRequestPageSerializer})
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        renewal = services.access_request_renew(actor=request.user, request=access_request)
        return _detail(request, renewal.accession or "", status=201)


class EventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    at = serializers.DateTimeField()
    actor = serializers.SerializerMethodField()
    committee = serializers.CharField(source="committee.name", allow_null=True)
    comment = serializers.CharField()
    internal = serializers.BooleanField()

    def get_actor(self, obj: RequestEvent) -> str | None:
        if obj.actor is None:
            return None
        return obj.actor.full_name or obj.actor.email


class AccessRequestTimelineApi(APIView):
    """The request's events; votes and reviewers' comments only for committees and stewards."""

    @extend_schema(responses=EventSerializer(many=True))
    def get(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        rights = permissions.request_rights(request.user, access_request)
        events = selectors.timeline(access_request, rights)
        return Response(EventSerializer(events, many=True).data)


# --- the DUO match and consented counts ---------------------------------------------------------


class ReasonSerializer(serializers.Serializer):
    rule = serializers.CharField()
    effect = serializers.CharField()
    message = serializers.CharField()
    term = serializers.CharField(allow_null=True)


class MatchObligationSerializer(serializers.Serializer):
    term = serializers.CharField()
    message = serializers.CharField()
    until = serializers.DateField(allow_null=True)


class ExclusionSerializer(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.CharField(help_text="Small counts are shown as 'fewer than 5'")


class ConsentCountsSerializer(serializers.Serializer):
    consenting = serializers.IntegerField(
        allow_null=True, help_text=f"null when fewer than {SMALL_COUNT} (see consenting_display)"
    )
    consenting_display = serializers.CharField()
    excluded = ExclusionSerializer(many=True)


class DatasetMatchSerializer(serializers.Serializer):
    dataset = RequestedDatasetSerializer()
    outcome = serializers.CharField(
        allow_null=True, help_text="approve, needs_review or deny; null: purpose incomplete"
    )
    reasons = ReasonSerializer(many=True)
    obligations = MatchObligationSerializer(many=True)
    consent = ConsentCountsSerializer(
        allow_null=True, help_text="Committee members and stewards only"
    )


def _consent_counts(access_request: AccessRequest, dataset: Dataset) -> dict[str, Any]:
    breakdown = consent_breakdown(access_request, dataset)
    return {
        "consenting": None if breakdown.suppressed else breakdown.consenting,
        "consenting_display": breakdown.consenting_display,
        "excluded": [{"reason": r, "count": n} for r, n in breakdown.excluded_rows],
    }


class AccessRequestMatchApi(APIView):
    """Per requested dataset: the automated DUO match with every reason and the obligations;
    for committees and stewards, how many samples' participants consent now and why others
    are excluded."""

    @extend_schema(responses=DatasetMatchSerializer(many=True))
    def get(self, request: Request, accession: str) -> Response:
        access_request = _loaded(request, accession)
        rights = permissions.request_rights(request.user, access_request)
        rows = []
        for requested in access_request.requested_datasets.all():
            dataset = requested.dataset
            decision = request_match(access_request, dataset)
            rows.append(
                {
                    "dataset": dataset,
                    "outcome": decision.outcome.value if decision else None,
                    "reasons": decision.reasons if decision else [],
                    "obligations": decision.obligations if decision else [],
                    "consent": _consent_counts(access_request, dataset)
                    if rights.view_internal
                    else None,
                }
            )
        return Response(DatasetMatchSerializer(rows, many=True).data)


# --- co-applicants ------------------------------------------------------------------------------


class CoApplicantInviteApi(APIView):
    """Invite a co-applicant by email; they must accept before the invitation expires."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CoApplicantInviteInput"

        email = serializers.CharField()
        full_name = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: CoApplicantSerializer})
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.coapplicant_invite(
            actor=request.user, request=access_request, **data.validated_data
        )
        return Response(CoApplicantSerializer(invitation).data, status=201)


class CoApplicantCancelApi(APIView):
    """Cancel an invitation, or remove a co-applicant (their access to the request ends)."""

    @extend_schema(request=None, responses=CoApplicantSerializer)
    def delete(self, request: Request, accession: str, invitation_id: int) -> Response:
        access_request = selectors.request_for(request.user, accession)
        invitation = lookups.invitation_of(access_request, invitation_id)
        cancelled = services.coapplicant_cancel(actor=request.user, invitation=invitation)
        return Response(CoApplicantSerializer(cancelled).data)


class InvitationAnswerSerializer(serializers.Serializer):
    request = serializers.CharField(source="request.accession")
    title = serializers.CharField(source="request.title")
    email = serializers.EmailField()
    status = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)


class InvitationAcceptApi(APIView):
    """Accept an invitation (signed in with the invited address), with the agreements."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvitationAcceptInput"

        accept_agreements = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Required when the datasets' committees have data-access agreements",
        )

    @extend_schema(request=InputSerializer, responses=InvitationAnswerSerializer)
    def post(self, request: Request, token: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.coapplicant_answer(
            actor=request.user,
            invitation=services.invitation_from_token(token),
            accept=True,
            accept_agreements=data.validated_data["accept_agreements"],
        )
        return Response(InvitationAnswerSerializer(invitation).data)


class InvitationDeclineApi(APIView):
    @extend_schema(request=None, responses=InvitationAnswerSerializer)
    def post(self, request: Request, token: str) -> Response:
        invitation = services.coapplicant_answer(
            actor=request.user, invitation=services.invitation_from_token(token), accept=False
        )
        return Response(InvitationAnswerSerializer(invitation).data)


# --- agreements ---------------------------------------------------------------------------------


class AcceptanceSerializer(serializers.Serializer):
    person = PersonSerializer()
    accepted_at = serializers.DateTimeField()


class RequestAgreementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    committee = serializers.CharField(source="committee.name")
    committee_id = serializers.IntegerField()
    version = serializers.IntegerField()
    text = serializers.CharField()
    published_at = serializers.DateTimeField()
    accepted_by = AcceptanceSerializer(many=True)
    waiting_for = PersonSerializer(many=True, help_text="Signatories who have not accepted it")


class RequestAgreementsSerializer(serializers.Serializer):
    agreements = RequestAgreementSerializer(many=True)
    all_accepted = serializers.BooleanField()


def _agreements(access_request: AccessRequest) -> dict[str, Any]:
    agreements = current_agreements(access_request)
    accepted: dict[int, list[dict[str, Any]]] = {}
    for acceptance in selectors.acceptances_of(access_request):
        accepted.setdefault(acceptance.agreement_id, []).append(
            {"person": acceptance.user, "accepted_at": acceptance.accepted_at}
        )
    missing: dict[int, list[User]] = {}
    for person, agreement in missing_acceptances(access_request):
        missing.setdefault(agreement.pk, []).append(person)
    rows = [
        {
            "id": a.pk,
            "committee": a.committee,
            "committee_id": a.committee_id,
            "version": a.version,
            "text": a.text,
            "published_at": a.published_at,
            "accepted_by": accepted.get(a.pk, []),
            "waiting_for": missing.get(a.pk, []),
        }
        for a in agreements
    ]
    return RequestAgreementsSerializer({"agreements": rows, "all_accepted": not missing}).data


class RequestAgreementsApi(APIView):
    """The data-access agreements in force for the request, and who accepted them."""

    @extend_schema(responses=RequestAgreementsSerializer)
    def get(self, request: Request, accession: str) -> Response:
        return Response(_agreements(selectors.request_for(request.user, accession)))


class RequestAgreementsAcceptApi(APIView):
    """The applicant or a co-applicant accepts every agreement in force."""

    @extend_schema(request=None, responses=RequestAgreementsSerializer)
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        services.agreements_accept(actor=request.user, request=access_request)
        return Response(_agreements(access_request))


class AgreementVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    committee = serializers.CharField(source="committee.name")
    version = serializers.IntegerField()
    text = serializers.CharField()
    published_at = serializers.DateTimeField()
    published_by = PersonSerializer()


def _committee(request: Request, committee_id: int) -> Committee:
    """A committee its members and stewards may see; to anyone else it does not exist."""
    committee = lookups.committee_by_id(committee_id)
    user = request.user
    if committee is None or not (
        permissions.is_steward(user) or permissions.is_member(user, committee)
    ):
        raise NotFoundError("No such committee.")
    return committee


class CommitteeAgreementListApi(APIView):
    """Every published version of a committee's agreement, newest first (members, stewards)."""

    @extend_schema(responses=AgreementVersionSerializer(many=True))
    def get(self, request: Request, committee_id: int) -> Response:
        committee = _committee(request, committee_id)
        versions = DataAccessAgreement.objects.filter(committee=committee).select_related(
            "committee", "published_by"
        )
        return Response(AgreementVersionSerializer(versions.order_by("-version"), many=True).data)


class CommitteeAgreementPublishApi(APIView):
    """Publish a new version of the committee's agreement (stewards); requests accept the
    newest one."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgreementPublishInput"

        text = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: AgreementVersionSerializer})
    def post(self, request: Request, committee_id: int) -> Response:
        committee = _committee(request, committee_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agreement = services.agreement_publish(
            actor=request.user, committee=committee, text=data.validated_data["text"]
        )
        return Response(AgreementVersionSerializer(agreement).data, status=201)


# --- ethics approval ----------------------------------------------------------------------------


class EthicsUploadApi(APIView):
    """Upload the ethics approval: a PDF (checked by its content), size-limited."""

    parser_classes = (MultiPartParser, FormParser)

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EthicsUploadInput"

        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={201: EthicsDocumentSerializer}
    )
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        # One byte past the limit is enough for the service to refuse an oversized file
        # without holding all of it in memory.
        content = upload.read(settings.CUSTODIAN_ETHICS_MAX_BYTES + 1)
        document = services.ethics_upload(
            actor=request.user, request=access_request, name=upload.name, content=content
        )
        document.request = access_request
        return Response(
            EthicsDocumentSerializer(document, context={"request": request}).data, status=201
        )


class EthicsDownloadApi(APIView):
    """The ethics approval PDF, for those who may see the request."""

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, accession: str, document_id: int) -> FileResponse:
        access_request = selectors.request_for(request.user, accession)
        if not permissions.can_view_ethics(request.user, access_request):
            raise NotFoundError("No such document.")
        document = selectors.ethics_document(access_request, document_id)
        path = settings.CUSTODIAN_PRIVATE_ROOT / document.path
        if not path.is_file():
            raise NotFoundError("The document's file is missing; ask a data steward.")
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=document.original_name,
            content_type="application/pdf",
        )


# --- review -------------------------------------------------------------------------------------


class QuorumSerializer(serializers.Serializer):
    eligible = serializers.IntegerField(help_text="Members who may vote (not recused)")
    votes = serializers.IntegerField()
    needed = serializers.IntegerField()
    reached = serializers.BooleanField()


class ReviewPanelSerializer(serializers.Serializer):
    review = InternalReviewSummarySerializer(
        help_text="Votes, justification and match only for committees and stewards"
    )
    datasets = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField(allow_null=True, help_text="The automated match, combined")
    quorum = QuorumSerializer()
    my_vote = VoteSerializer(allow_null=True)
    recused = serializers.CharField(allow_null=True, help_text="Why you may not vote")
    is_member = serializers.BooleanField()
    can_vote = serializers.BooleanField()
    can_decide = serializers.BooleanField()
    can_revoke = serializers.BooleanField()
    active_grants = serializers.IntegerField()


class AccessRequestReviewsApi(APIView):
    """One panel per committee: its outcome, quorum, your vote and what you may do."""

    @extend_schema(responses=ReviewPanelSerializer(many=True))
    def get(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        rights = permissions.request_rights(request.user, access_request)
        panels = []
        for panel in selectors.review_panels(access_request, request.user):
            panels.append(
                {
                    "review": _review_summary(rights, _with_votes(panel.review, panel.votes)),
                    "datasets": [d.dataset.accession for d in panel.datasets],
                    "outcome": panel.outcome.value if panel.outcome else None,
                    "quorum": {
                        "eligible": panel.quorum.eligible,
                        "votes": panel.quorum.votes,
                        "needed": panel.quorum.needed,
                        "reached": panel.quorum.reached,
                    },
                    "my_vote": VoteSerializer(panel.my_vote).data if panel.my_vote else None,
                    "recused": panel.recused,
                    "is_member": panel.is_member,
                    "can_vote": panel.can_vote,
                    "can_decide": panel.can_decide,
                    "can_revoke": panel.can_revoke,
                    "active_grants": panel.active_grants,
                }
            )
        return Response(panels)


def _review_summary(rights: RequestRights, review: Any) -> dict[str, Any]:
    """A committee's review with its votes and justification for that committee's members
    and stewards; the decision alone for everybody else."""
    committee_id = review["committee_id"] if isinstance(review, dict) else review.committee_id
    if rights.sees_internal_of(committee_id):
        return InternalReviewSummarySerializer(review).data
    return ReviewSummarySerializer(review).data


def _with_votes(review: CommitteeReview, votes: list[Vote]) -> dict[str, Any]:
    """The review's fields with its votes as a plain list (the serializer reads `votes`)."""
    return {
        "id": review.pk,
        "committee": review.committee,
        "committee_id": review.committee_id,
        "review_round": review.review_round,
        "decision": review.decision,
        "decided_at": review.decided_at,
        "comment": review.comment,
        "grant_end": review.grant_end,
        "conditions": review.conditions,
        "justification": review.justification,
        "match_outcome": review.match_outcome,
        "votes": votes,
    }


class VoteCastApi(APIView):
    """Cast or change your vote, until the committee decides (members not recused)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VoteCastInput"

        choice = serializers.ChoiceField(choices=VoteChoice.choices)
        rationale = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=VoteSerializer)
    def put(self, request: Request, accession: str, review_id: int) -> Response:
        access_request = selectors.request_for(request.user, accession)
        review = lookups.review_of(access_request, review_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vote = services.vote_cast(actor=request.user, review=review, **data.validated_data)
        return Response(VoteSerializer(vote).data)


class ReviewDecideApi(APIView):
    """The chair records the committee's decision (needs the quorum; departing from the
    automated match needs a justification; an approval sets the grants' end)."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewDecideInput"

        decision = serializers.ChoiceField(choices=["approved", "rejected", "returned"])
        comment = serializers.CharField(required=False, allow_blank=True, default="")
        justification = serializers.CharField(required=False, allow_blank=True, default="")
        grant_end = serializers.DateField(
            required=False, allow_null=True, default=None, help_text="Default: one year"
        )
        conditions = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses=InternalReviewSummarySerializer)
    def post(self, request: Request, accession: str, review_id: int) -> Response:
        access_request = selectors.request_for(request.user, accession)
        review = lookups.review_of(access_request, review_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = services.review_decide(actor=request.user, review=review, **data.validated_data)
        return Response(
            InternalReviewSummarySerializer(_with_votes(decided, list(decided.votes.all()))).data
        )


class GrantsRevokeApi(APIView):
    """A chair ends, at once, every grant their committee gave on the request."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "GrantsRevokeInput"

        committee = serializers.IntegerField(help_text="The id of the committee you chair")
        reason = serializers.CharField(help_text="The researchers will see it")

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer(
            "GrantsRevoked",
            {"revoked": serializers.IntegerField(), "status": serializers.CharField()},
        ),
    )
    def post(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        committee = lookups.committee_by_id(data.validated_data["committee"])
        if committee is None:
            raise serializers.ValidationError({"committee": ["No committee has this id."]})
        revoked = services.grants_revoke(
            actor=request.user,
            request=access_request,
            committee=committee,
            reason=data.validated_data["reason"],
        )
        access_request.refresh_from_db(fields=["status"])
        return Response({"revoked": revoked, "status": access_request.status})


# --- grants -------------------------------------------------------------------------------------


class GrantListApi(APIView):
    """Grants you may see (yours, your committees', all for stewards); state by today's date."""

    pagination_class = Pagination

    class FilterSerializer(QueryFilters):
        class Meta:
            ref_name = "GrantListFilter"

        state = serializers.ChoiceField(
            choices=lookups.GRANT_STATES, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses=GrantSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        grants = lookups.grants_in_state(
            permissions.visible_grants(request.user), filters.validated_data["state"]
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(grants, request, view=self)
        return paginator.get_paginated_response(GrantSerializer(page, many=True).data)


class GrantDetailApi(APIView):
    @extend_schema(responses=GrantSerializer)
    def get(self, request: Request, grant_id: int) -> Response:
        return Response(GrantSerializer(selectors.grant_for(request.user, grant_id)).data)


# --- deliveries ---------------------------------------------------------------------------------


class DeliveryLinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes")
    sha256 = serializers.CharField()
    url = serializers.CharField(
        help_text=(
            "The signed link: no credentials needed besides it. With object storage, a "
            "presigned URL, empty once the link no longer works."
        )
    )
    expires_at = serializers.DateTimeField()
    index_name = serializers.CharField(help_text="Empty when the file has no index")
    index_url = serializers.CharField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    grant = serializers.IntegerField(source="grant_id")
    request = serializers.CharField(source="grant.request.accession")
    dataset = serializers.CharField(source="grant.dataset.accession")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(help_text="Why the links could not be prepared")
    sample_set_hash = serializers.CharField(
        help_text="SHA-256 of the delivered sample IDs, sorted and newline-joined"
    )
    excluded_files = serializers.IntegerField(
        help_text="Files left out because their participant's consent does not cover the use"
    )
    links = serializers.SerializerMethodField()

    @extend_schema_field(DeliveryLinkSerializer(many=True))
    def get_links(self, obj: Delivery) -> list[dict[str, Any]]:
        if obj.status != DeliveryStatus.READY:
            return []
        absolute = self.context["request"].build_absolute_uri
        return [
            {
                "name": link.name,
                "size": link.size,
                "sha256": link.sha256,
                # A presigned URL is absolute already; an empty one no longer works.
                "url": absolute(link.url) if link.url else "",
                "expires_at": link.expires_at,
                "index_name": link.index_name,
                "index_url": absolute(link.index_url) if link.index_url else "",
            }
            for link in links_of(obj)
        ]


class DeliveryCreateApi(APIView):
    """Ask for download links under your active grant; prepared by a worker (poll the delivery)."""

    # An API token needs the download scope (or write) to ask for links.
    token_scope = ApiTokenScope.DOWNLOAD

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DeliveryCreateInput"

        datafile_ids = serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            default=list,
            help_text="Data files of the grant's dataset; none: all of them",
        )
        lifetime_seconds = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            min_value=1,
            help_text="A shorter link lifetime than the portal's maximum",
        )

    @extend_schema(request=InputSerializer, responses={202: DeliverySerializer})
    def post(self, request: Request, grant_id: int) -> Response:
        grant = selectors.grant_for(request.user, grant_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = services.delivery_request(
            actor=request.user,
            grant=grant,
            datafile_ids=data.validated_data["datafile_ids"] or None,
            lifetime_seconds=data.validated_data["lifetime_seconds"],
        )
        url = reverse("access_api:delivery", args=[delivery.pk], request=request)
        body = DeliverySerializer(delivery, context={"request": request}).data
        return Response(body, status=202, headers={"Location": url})


class DeliveryDetailApi(APIView):
    """Your delivery: its status and, once ready, the signed links with sizes and checksums."""

    # The links are the data: an API token needs the download scope to read them.
    token_scope = ApiTokenScope.DOWNLOAD

    @extend_schema(responses=DeliverySerializer)
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = delivery_for(request.user, delivery_id)
        return Response(DeliverySerializer(delivery, context={"request": request}).data)


class LinkRecordSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes")
    sha256 = serializers.CharField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_index = serializers.BooleanField()


class RevocationSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(help_text="Who revoked the links")
    reason = serializers.CharField()


class DeliveryRecordSerializer(serializers.Serializer):
    """A delivery as committees and stewards audit it: its links' states, never their URLs
    (a signed URL is a credential only its requester holds)."""

    id = serializers.IntegerField(source="delivery.pk")
    grant = serializers.IntegerField(source="delivery.grant_id")
    request = serializers.CharField(source="delivery.grant.request.accession")
    dataset = serializers.CharField(source="delivery.grant.dataset.accession")
    requested_by = PersonSerializer(source="delivery.requested_by")
    status = serializers.ChoiceField(source="delivery.status", choices=DeliveryStatus.choices)
    created_at = serializers.DateTimeField(source="delivery.created_at")
    ready_at = serializers.DateTimeField(source="delivery.ready_at", allow_null=True)
    error = serializers.CharField(source="delivery.error")
    sample_set_hash = serializers.CharField(source="delivery.sample_set_hash")
    participants = serializers.IntegerField(help_text="Participants whose data it included")
    excluded_files = serializers.IntegerField(source="delivery.excluded_files")
    links = LinkRecordSerializer(many=True)
    revocation = RevocationSerializer(allow_null=True)


class RequestDeliveriesApi(APIView):
    """The deliveries under a request's grants, with each link's state: every one for its
    reviewing committees and stewards, their own for the researchers."""

    pagination_class = Pagination

    @extend_schema(responses=DeliveryRecordSerializer(many=True))
    def get(self, request: Request, accession: str) -> Response:
        access_request = selectors.request_for(request.user, accession)
        records = delivery_records_visible(request.user, access_request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(records, request, view=self)
        return paginator.get_paginated_response(DeliveryRecordSerializer(page, many=True).data)


class DeliveryRevokeApi(APIView):
    """Stop every link of one delivery at once, leaving the grant: its requester, a chair of a
    reviewing committee or a steward."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DeliveryRevokeInput"

        # Required by the service, which checks who may revoke first (404, 403, then 400).
        reason = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=2000,
            help_text="Required: kept in the audit; the requester is told",
        )

    @extend_schema(request=InputSerializer, responses=DeliveryRecordSerializer)
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery, _ = delivery_visible(request.user, delivery_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.delivery_revoke(
            actor=request.user, delivery=delivery, reason=data.validated_data["reason"]
        )
        [record] = delivery_records([delivery])
        return Response(DeliveryRecordSerializer(record).data)


# --- notifications ------------------------------------------------------------------------------


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    unread = serializers.SerializerMethodField()

    def get_unread(self, obj: Notification) -> bool:
        return obj.read_at is None


class NotificationListApi(APIView):
    """Your notices, newest first, with the unread count."""

    pagination_class = Pagination

    @extend_schema(
        parameters=[PageParameters],
        responses=inline_serializer(
            "NotificationList",
            {
                "unread": serializers.IntegerField(),
                "count": serializers.IntegerField(),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "results": NotificationSerializer(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.notifications_of(request.user), request, view=self
        )
        response = paginator.get_paginated_response(NotificationSerializer(page, many=True).data)
        response.data = {"unread": selectors.unread_count(request.user), **response.data}
        return response


class NotificationReadApi(APIView):
    """Mark notices read: the ids given, or all of yours when none are given."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "NotificationReadInput"

        ids = serializers.ListField(child=serializers.IntegerField(), required=False)

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer(
            "NotificationsRead",
            {"marked": serializers.IntegerField(), "unread": serializers.IntegerField()},
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(
            actor=request.user, ids=data.validated_data.get("ids")
        )
        return Response({"marked": marked, "unread": selectors.unread_count(request.user)})


# --- communities --------------------------------------------------------------------------------


class CommunityUseSerializer(serializers.Serializer):
    accession = serializers.CharField()
    title = serializers.CharField()
    lay_summary = serializers.CharField()
    institution = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    primary_use = serializers.CharField()
    diseases = serializers.ListField(child=serializers.CharField())
    commercial = serializers.BooleanField()
    countries = serializers.ListField(child=serializers.CharField())
    datasets = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    community_decision = serializers.SerializerMethodField(
        help_text="The community committee's own decision (latest round)"
    )

    def get_datasets(self, obj: AccessRequest) -> list[str]:
        return [rd.dataset.accession or "" for rd in obj.requested_datasets.all()]

    def get_community_decision(self, obj: AccessRequest) -> str | None:
        reviews = getattr(obj, "community_reviews", [])
        return reviews[0].decision if reviews else None


class CommunityUseListApi(APIView):
    """The use of the community's members' data (its committee's members only)."""

    @extend_schema(responses=CommunityUseSerializer(many=True))
    def get(self, request: Request, committee_id: int) -> Response:
        committee = lookups.committee_by_id(committee_id)
        if committee is None or not permissions.can_see_community_use(request.user, committee):
            raise NotFoundError("No such community committee.")
        uses = lookups.community_uses_with_decisions(selectors.community_uses(committee), committee)
        return Response(CommunityUseSerializer(uses, many=True).data)


# --- one URL, two operations: each operation stays its own view; these join them ----------------


class AccessRequestsApi(AccessRequestListApi, AccessRequestCreateApi):
    """requests/: GET lists, POST creates a draft."""


class AccessRequestApi(AccessRequestDetailApi, AccessRequestUpdateApi):
    """requests/<accession>/: GET reads, PATCH saves a draft."""


class CommitteeAgreementsApi(CommitteeAgreementListApi, CommitteeAgreementPublishApi):
    """committees/<id>/agreements/: GET lists the versions, POST publishes one (stewards)."""
