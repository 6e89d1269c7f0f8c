"""DRF endpoints: datasets and files (drafts for stewards only), registration, validation,
sample links, release. Anyone may read released datasets, as in the catalogue."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from datasets import selectors, services
from datasets.conditions import conditions_obligations, conditions_text
from datasets.models import DataFile, DataFileFormat, Dataset, DatasetStatus
from datasets.selectors import committees
from portal.authentication import IsSteward, has_role
from portal.filters import QueryFilters
from portal.models import Role
from portal.pagination import Pagination


def _dataset(request: Request, accession: str) -> Dataset:
    dataset = selectors.visible_dataset(request.user, accession)
    if dataset is None:
        raise Http404
    return dataset


def _datafile(request: Request, accession: str, file_id: int) -> DataFile:
    file = selectors.visible_datafile(request.user, accession, file_id)
    if file is None:
        raise Http404
    return file


# --- serializers ------------------------------------------------------------------------------


class ConditionsSerializer(serializers.Serializer):
    permission = serializers.CharField()
    modifiers = serializers.ListField(child=serializers.CharField())
    diseases = serializers.ListField(child=serializers.CharField())
    countries = serializers.ListField(child=serializers.CharField())
    time_limit = serializers.DateField(allow_null=True)
    moratorium_until = serializers.DateField(allow_null=True)
    users = serializers.ListField(child=serializers.CharField())
    projects = serializers.ListField(child=serializers.CharField())
    institutions = serializers.ListField(child=serializers.CharField())


class TermTextSerializer(serializers.Serializer):
    code = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    detail = serializers.CharField()


class ObligationSerializer(serializers.Serializer):
    term = serializers.CharField()
    message = serializers.CharField()
    until = serializers.DateField(allow_null=True)


class DatasetSerializer(serializers.Serializer):
    accession = serializers.CharField()
    url = serializers.SerializerMethodField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    committee = serializers.SerializerMethodField()
    conditions = serializers.SerializerMethodField()
    conditions_text = serializers.SerializerMethodField()
    obligations = serializers.SerializerMethodField()
    formats = serializers.SerializerMethodField()
    total_size = serializers.IntegerField(allow_null=True)
    sample_count = serializers.IntegerField()
    consenting_samples = serializers.SerializerMethodField(
        help_text="Samples whose participants consent now to general or health research; "
        "null when fewer than 5 (see consenting_samples_display)"
    )
    consenting_samples_display = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    released_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, dataset: Dataset) -> str:
        return reverse(
            "datasets_api:detail", args=[dataset.accession], request=self.context.get("request")
        )

    def get_committee(self, dataset: Dataset) -> dict[str, str]:
        return {"name": dataset.committee.name, "contact_email": dataset.committee.contact_email}

    def get_conditions(self, dataset: Dataset) -> dict[str, Any]:
        return ConditionsSerializer(dataset).data

    def get_conditions_text(self, dataset: Dataset) -> list[dict[str, Any]]:
        return TermTextSerializer(conditions_text(dataset.conditions), many=True).data

    def get_obligations(self, dataset: Dataset) -> list[dict[str, Any]]:
        return ObligationSerializer(conditions_obligations(dataset.conditions), many=True).data

    def get_formats(self, dataset: Dataset) -> list[str]:
        return sorted({f.get_format_display() for f in dataset.files.all()})

    def get_consenting_samples(self, dataset: Dataset) -> int | None:
        count: int = dataset.consenting_count  # type: ignore[attr-defined] # annotated
        return count if count >= selectors.SMALL_COUNT else None

    def get_consenting_samples_display(self, dataset: Dataset) -> str:
        return selectors.display_count(dataset.consenting_count)  # type: ignore[attr-defined]


class DataFileSerializer(serializers.ModelSerializer):
    index_of = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = DataFile
        fields: tuple[str, ...] = (
            "id",
            "name",
            "format",
            "index_of",
            "size",
            "sha256",
            "md5",
            "reference_genome",
            "contigs",
            "record_count",
            "status",
            "validated_at",
        )


class StewardDataFileSerializer(DataFileSerializer):
    """What only stewards see: where the file is, its samples and validation details."""

    class Meta(DataFileSerializer.Meta):
        fields = (
            *DataFileSerializer.Meta.fields,
            "path",
            "samples",
            "validation_message",
            "problems",
            "bytes_hashed",
        )


class ValidationSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField()

    class Meta:
        model = DataFile
        fields = (
            "id",
            "path",
            "status",
            "bytes_hashed",
            "size",
            "progress_percent",
            "validation_message",
            "problems",
            "validated_at",
        )


class DataFileAnySerializer(DataFileSerializer):
    """The OpenAPI's view of a file: everyone's fields, and those only stewards get."""

    path = serializers.CharField(required=False, help_text="Stewards only")
    samples = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Stewards only"
    )
    validation_message = serializers.CharField(required=False, help_text="Stewards only")
    problems = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Stewards only"
    )
    bytes_hashed = serializers.IntegerField(required=False, help_text="Stewards only")

    class Meta(StewardDataFileSerializer.Meta):
        ref_name = "DataFileAnyRole"


def _file_serializer(request: Request) -> type[DataFileSerializer]:
    return StewardDataFileSerializer if has_role(request, Role.STEWARD) else DataFileSerializer


# --- datasets ---------------------------------------------------------------------------------


class DatasetListApi(APIView):
    """Released datasets (every dataset for stewards), newest first."""

    pagination_class = Pagination

    permission_classes = (AllowAny,)

    class FilterSerializer(QueryFilters):
        class Meta:
            ref_name = "DatasetListFilter"

        status = serializers.ChoiceField(
            choices=DatasetStatus.values, required=False, allow_blank=True, default=""
        )

    @extend_schema(parameters=[FilterSerializer], responses=DatasetSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        datasets = selectors.with_formats(
            selectors.with_counts(selectors.visible_datasets(request.user))
        )
        if status := filters.validated_data["status"]:
            datasets = datasets.filter(status=status)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            datasets.order_by("-created_at", "-pk"), request, view=self
        )
        data = DatasetSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class DatasetDetailApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(responses=DatasetSerializer)
    def get(self, request: Request, accession: str) -> Response:
        dataset = _dataset(request, accession)
        return Response(DatasetSerializer(dataset, context={"request": request}).data)


class DatasetRegisterApi(APIView):
    """Create a draft dataset with its DUO data-use conditions."""

    permission_classes = (IsSteward,)

    class DatasetRegisterInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DatasetRegisterInput"

        title = serializers.CharField()
        description = serializers.CharField(required=False, allow_blank=True, default="")
        committee = serializers.IntegerField(help_text="The data access committee's id")
        permission = serializers.CharField(help_text="DUO permission: GRU, HMB, DS, POA, NRES")
        modifiers = serializers.ListField(child=serializers.CharField(), required=False)
        diseases = serializers.ListField(child=serializers.CharField(), required=False)
        countries = serializers.ListField(child=serializers.CharField(), required=False)
        time_limit = serializers.DateField(required=False, allow_null=True)
        moratorium_until = serializers.DateField(required=False, allow_null=True)
        users = serializers.ListField(child=serializers.CharField(), required=False)
        projects = serializers.ListField(child=serializers.CharField(), required=False)
        institutions = serializers.ListField(child=serializers.CharField(), required=False)

    @extend_schema(request=DatasetRegisterInputSerializer, responses={201: DatasetSerializer})
    def post(self, request: Request) -> Response:
        data = self.DatasetRegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = dict(data.validated_data)
        committee = committees().filter(pk=arguments.pop("committee")).first()
        if committee is None:
            raise serializers.ValidationError({"committee": ["No committee has this id."]})
        dataset = services.dataset_create(actor=request.user, committee=committee, **arguments)
        shown = selectors.visible_dataset(request.user, dataset.accession or "")
        return Response(DatasetSerializer(shown, context={"request": request}).data, status=201)


class DatasetReleaseApi(APIView):
    permission_classes = (IsSteward,)

    @extend_schema(request=None, responses=DatasetSerializer)
    def post(self, request: Request, accession: str) -> Response:
        services.dataset_release(actor=request.user, dataset=_dataset(request, accession))
        shown = _dataset(request, accession)
        return Response(DatasetSerializer(shown, context={"request": request}).data)


class DatasetRetireApi(APIView):
    permission_classes = (IsSteward,)

    class DatasetRetireInputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "DatasetRetireInput"

    @extend_schema(request=DatasetRetireInputSerializer, responses=DatasetSerializer)
    def post(self, request: Request, accession: str) -> Response:
        data = self.DatasetRetireInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dataset_retire(
            actor=request.user,
            dataset=_dataset(request, accession),
            reason=data.validated_data["reason"],
        )
        shown = _dataset(request, accession)
        return Response(DatasetSerializer(shown, context={"request": request}).data)


# --- files ------------------------------------------------------------------------------------


class DataFileListApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(responses=DataFileAnySerializer(many=True))
    def get(self, request: Request, accession: str) -> Response:
        dataset = _dataset(request, accession)
        files = selectors.dataset_files(dataset)
        return Response(_file_serializer(request)(files, many=True).data)


class DataFileDetailApi(APIView):
    permission_classes = (AllowAny,)

    @extend_schema(responses=DataFileAnySerializer)
    def get(self, request: Request, accession: str, file_id: int) -> Response:
        file = _datafile(request, accession, file_id)
        return Response(_file_serializer(request)(file).data)


class FileEntrySerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Path from the data root")
    format = serializers.ChoiceField(
        choices=DataFileFormat.choices, required=False, allow_blank=True, default=""
    )


class SampleMappingSerializer(serializers.Serializer):
    sample_id = serializers.CharField()
    study_id = serializers.CharField()
    file = serializers.CharField(help_text="Path of the file the sample is in")


class DataFileRegisterApi(APIView):
    """Register files under the data root (paths from the root), all or nothing; each data
    file's index is found and linked; validation starts at once."""

    permission_classes = (IsSteward,)

    class DataFileRegisterInputSerializer(serializers.Serializer):
        files = FileEntrySerializer(many=True, allow_empty=False)
        samples = SampleMappingSerializer(many=True, required=False, default=list)

        class Meta:
            ref_name = "DataFileRegisterInput"

    @extend_schema(
        request=DataFileRegisterInputSerializer,
        responses={201: StewardDataFileSerializer(many=True)},
    )
    def post(self, request: Request, accession: str) -> Response:
        dataset = _dataset(request, accession)
        data = self.DataFileRegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entries = [
            services.FileEntry(f["path"], f.get("format", ""), f"files[{n}]")
            for n, f in enumerate(data.validated_data["files"])
        ]
        links = [
            services.SampleLinkEntry(s["sample_id"], s["study_id"], s["file"], f"samples[{n}]")
            for n, s in enumerate(data.validated_data["samples"])
        ]
        created = services.datafiles_register(
            actor=request.user, dataset=dataset, entries=entries, sample_links=links
        )
        return Response(StewardDataFileSerializer(created, many=True).data, status=201)


class DataFileValidationApi(APIView):
    """A file's validation status and checksum progress (poll it while VALIDATING)."""

    permission_classes = (IsSteward,)

    @extend_schema(responses=ValidationSerializer)
    def get(self, request: Request, accession: str, file_id: int) -> Response:
        return Response(ValidationSerializer(_datafile(request, accession, file_id)).data)


class DataFileRetryApi(APIView):
    """Validate a failed file again (after fixing it on disk)."""

    permission_classes = (IsSteward,)

    @extend_schema(request=None, responses={202: ValidationSerializer})
    def post(self, request: Request, accession: str, file_id: int) -> Response:
        file = _datafile(request, accession, file_id)
        services.datafile_validation_retry(actor=request.user, file=file)
        file.refresh_from_db()
        return Response(ValidationSerializer(file).data, status=202)


# --- samples ----------------------------------------------------------------------------------


class SampleSerializer(serializers.Serializer):
    sample_id = serializers.CharField(source="sample.sample_id")
    link = serializers.CharField(source="sample.link")
    study_id = serializers.CharField(source="sample.participant.study_id", allow_null=True)
    files = serializers.ListField(child=serializers.CharField())


class SampleListApi(APIView):
    permission_classes = (IsSteward,)

    @extend_schema(responses=SampleSerializer(many=True))
    def get(self, request: Request, accession: str) -> Response:
        rows = selectors.dataset_samples(_dataset(request, accession))
        return Response(SampleSerializer(rows, many=True).data)


class SampleChoiceSerializer(serializers.Serializer):
    sample_id = serializers.CharField()
    study_id = serializers.CharField(required=False, allow_blank=True, default="")
    unlinked = serializers.BooleanField(required=False, default=False)


class SampleLinkApi(APIView):
    """Link samples to participants by study ID, or mark them unlinked; all or nothing."""

    permission_classes = (IsSteward,)

    class SampleLinkInputSerializer(serializers.Serializer):
        samples = SampleChoiceSerializer(many=True, allow_empty=False)

        class Meta:
            ref_name = "SampleLinkInput"

    @extend_schema(request=SampleLinkInputSerializer, responses=SampleSerializer(many=True))
    def post(self, request: Request, accession: str) -> Response:
        dataset = _dataset(request, accession)
        data = self.SampleLinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        choices = [
            services.SampleChoice(c["sample_id"], c["study_id"], c["unlinked"])
            for c in data.validated_data["samples"]
        ]
        services.samples_link(actor=request.user, dataset=dataset, choices=choices)
        return Response(SampleSerializer(selectors.dataset_samples(dataset), many=True).data)
