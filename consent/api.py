"""DRF endpoints: a participant's own consent, stewards' participant lists, FHIR export."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent import selectors, services
from consent.fhir import FHIR_CONTENT_TYPE, consent_resource, current_consent_resource
from consent.meanings import PERMISSION_COLUMNS, consent_terms
from consent.models import Channel, ConsentRecord, CurrentConsent, Participant, WithdrawalLevel
from portal.authentication import IsParticipant, IsSteward
from portal.exceptions import NotFoundError
from portal.filters import QueryFilters
from portal.pagination import Pagination


def _participant(request: Request) -> Participant:
    participant = selectors.participant_for_user(request.user)
    if participant is None:
        raise NotFoundError("Your account is not enrolled as a participant.")
    return participant


class ConsentStateSerializer(serializers.Serializer):
    study_id = serializers.CharField(source="participant.study_id")
    sequence = serializers.IntegerField(help_text="0 before a first consent")
    status = serializers.CharField(help_text="`none` before a first consent")
    suspended = serializers.BooleanField()
    # Null before a first consent, as is everything about the version and its time.
    version = serializers.IntegerField(source="version_id", allow_null=True)
    document = serializers.CharField(source="version.document.name", allow_null=True)
    version_number = serializers.IntegerField(source="version.number", allow_null=True)
    language = serializers.CharField(source="version.language", allow_null=True)
    answers = serializers.DictField(child=serializers.CharField())
    updated_at = serializers.DateTimeField(allow_null=True)


# One instance for every answer: a serializer copies its declared fields each time one is
# made, which cost more than the rendering on the consent update's path.
_STATE = ConsentStateSerializer()


def _state(current: CurrentConsent | None, participant: Participant) -> dict[str, Any]:
    if current is None:
        return {
            "study_id": participant.study_id,
            "sequence": 0,
            "status": "none",
            "suspended": False,
            "version": None,
            "document": None,
            "version_number": None,
            "language": None,
            "answers": {},
            "updated_at": None,
        }
    state: dict[str, Any] = _STATE.to_representation(current)
    return state


class ConsentMeApi(APIView):
    """Read or update the signed-in participant's consent (optimistic concurrency)."""

    permission_classes = (IsParticipant,)

    class ConsentUpdateInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(help_text="The consent version being signed")
        # Blank answers pass through so that the service names each unanswered question.
        answers = serializers.DictField(
            child=serializers.CharField(allow_blank=True),
            help_text="An answer (yes, no or ask) to every choice of the version, by key",
        )
        signature = serializers.CharField(allow_blank=True, help_text="Your full name, typed")
        expected_sequence = serializers.IntegerField(
            min_value=0, help_text="The `sequence` you read; 0 for a first consent"
        )

    @extend_schema(responses=ConsentStateSerializer)
    def get(self, request: Request) -> Response:
        participant = _participant(request)
        return Response(_state(selectors.current_consent(participant), participant))

    @extend_schema(request=ConsentUpdateInputSerializer, responses={201: ConsentStateSerializer})
    def post(self, request: Request) -> Response:
        participant = _participant(request)
        data = self.ConsentUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = selectors.published_version(data.validated_data["version"])
        if version is None:
            raise NotFoundError("There is no published consent version with this id.")
        record = services.consent_record(
            actor=request.user,
            participant=participant,
            version=version,
            answers=data.validated_data["answers"],
            signature=data.validated_data["signature"],
            channel=Channel.API,
            expected_sequence=data.validated_data["expected_sequence"],
        )
        return Response(_state(selectors.consent_state_after(record), participant), status=201)


class ConsentWithdrawApi(APIView):
    permission_classes = (IsParticipant,)

    class WithdrawalInputSerializer(serializers.Serializer):
        level = serializers.ChoiceField(choices=WithdrawalLevel.choices)
        signature = serializers.CharField(allow_blank=True)
        expected_sequence = serializers.IntegerField(min_value=0)

    @extend_schema(request=WithdrawalInputSerializer, responses={201: ConsentStateSerializer})
    def post(self, request: Request) -> Response:
        participant = _participant(request)
        data = self.WithdrawalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.consent_withdraw(
            actor=request.user,
            participant=participant,
            level=WithdrawalLevel(data.validated_data["level"]),
            signature=data.validated_data["signature"],
            channel=Channel.API,
            expected_sequence=data.validated_data["expected_sequence"],
        )
        return Response(_state(selectors.consent_state_after(record), participant), status=201)


class DuoConditionsSerializer(serializers.Serializer):
    releasable = serializers.BooleanField()
    conditions = serializers.ListField(child=serializers.DictField())


class ConsentDuoApi(APIView):
    """The participant's current choices as GA4GH DUO data-use conditions."""

    permission_classes = (IsParticipant,)

    @extend_schema(responses=DuoConditionsSerializer)
    def get(self, request: Request) -> Response:
        current = selectors.current_consent(_participant(request))
        if current is None:
            return Response({"releasable": False, "conditions": []})
        meanings = selectors.choice_meanings(current.version)
        terms = consent_terms(meanings, current.answers, country=current.version.document.country)
        return Response(
            {
                "releasable": current.releasable,
                "conditions": [
                    {
                        "permission": c.permission,
                        "modifiers": sorted(c.modifiers),
                        "countries": sorted(c.countries),
                    }
                    for c in terms.as_conditions()
                ]
                if current.releasable
                else [],
            }
        )


class RecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecord
        fields = (
            "id",
            "sequence",
            "kind",
            "version",
            "answers",
            "withdrawal_level",
            "channel",
            "signature",
            "created_at",
            "record_hash",
            "previous_hash",
        )


class ConsentRecordListApi(APIView):
    permission_classes = (IsParticipant,)

    @extend_schema(responses=RecordSerializer(many=True))
    def get(self, request: Request) -> Response:
        records = selectors.records_of(_participant(request))
        return Response(RecordSerializer(records, many=True).data)


def _fhir(resource: dict[str, Any]) -> HttpResponse:
    return JsonResponse(resource, content_type=FHIR_CONTENT_TYPE)


class ConsentRecordFhirApi(APIView):
    """A consent record as a FHIR R4 Consent: the participant's own, or any for a steward."""

    @extend_schema(responses={(200, FHIR_CONTENT_TYPE): dict})
    def get(self, request: Request, record_id: int) -> HttpResponse:
        record = selectors.record_for(request.user, record_id)
        if record is None:
            raise Http404
        current = selectors.current_consent(record.participant)
        return _fhir(
            consent_resource(
                record, in_force=current is not None and current.record_id == record.pk
            )
        )


class ConsentCurrentFhirApi(APIView):
    permission_classes = (IsParticipant,)

    @extend_schema(responses={(200, FHIR_CONTENT_TYPE): dict})
    def get(self, request: Request) -> HttpResponse:
        current = selectors.current_consent(_participant(request))
        if current is None:
            raise NotFoundError("You have not given consent yet.")
        return _fhir(current_consent_resource(current))


class ParticipantConsentListApi(APIView):
    """Stewards: participants with their current consent, filtered."""

    pagination_class = Pagination

    permission_classes = (IsSteward,)

    class ParticipantConsentSerializer(serializers.Serializer):
        study_id = serializers.CharField()
        email = serializers.EmailField(source="user.email")
        language = serializers.CharField()
        consent = serializers.SerializerMethodField()

        def get_consent(self, participant: Participant) -> dict[str, Any] | None:
            current = getattr(participant, "current_consent", None)
            if current is None:
                return None
            return {
                "status": current.status,
                "suspended": current.suspended,
                "sequence": current.sequence,
                "version": current.version_id,
                "answers": current.answers,
                "updated_at": current.updated_at,
            }

    class ParticipantFilterSerializer(QueryFilters):
        status = serializers.ChoiceField(
            choices=[*selectors.STATUS_FILTERS], required=False, help_text="Consent status"
        )
        permits = serializers.ChoiceField(choices=list(PERMISSION_COLUMNS), required=False)
        version = serializers.IntegerField(required=False)
        study_id = serializers.CharField(required=False)

    @extend_schema(
        parameters=[ParticipantFilterSerializer],
        responses=ParticipantConsentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = self.ParticipantFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        participants = selectors.participants_with_consent(**filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(participants, request, view=self)
        return paginator.get_paginated_response(
            self.ParticipantConsentSerializer(page, many=True).data
        )
