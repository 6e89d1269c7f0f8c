"""GA4GH Beacon v2 at /ga4gh/beacon/v2 (see access/beacon.py for the query rules).

Anyone may ask (the public tier); a session or an API token (read scope, POST included)
raises the tier. Every g_variants query is budgeted and audited, answered or refused, and
every refusal is a Beacon error document with a 4xx status, never a 500 page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import beacon
from access.selectors.beacon import (
    Answer,
    DatasetAnswer,
    beacon_answer,
    carrier_sample_pks,
    filtering_terms,
    may_ask_records,
    sample_names,
)
from access.services.beacon import (
    COMMON_COST,
    BudgetExceeded,
    Client,
    beacon_budget_check,
    beacon_budget_spend,
    beacon_query_audit,
    rare_cost,
)
from access.views.ga4gh import AUTHENTICATION, api_exception_answer
from access.views.htsget import JsonOnly
from datasets.selectors import SMALL_COUNT
from portal.exceptions import PortalError

SMALL_RANGE = f"1-{SMALL_COUNT - 1}"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(beacon.error_response(status, message), status=status, headers=headers)


class BeaconApi(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]
    content_negotiation_class = JsonOnly
    # Queries read, whatever the method: a read-scope token may POST them.
    token_scope = "read"  # noqa: S105 - a scope name, not a secret

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, BudgetExceeded):
            return _error(429, exc.message, {"Retry-After": str(exc.retry_after)})
        if isinstance(exc, PortalError):
            return _error(exc.http_status, exc.message)
        if isinstance(exc, drf_exceptions.APIException):
            return _error(*api_exception_answer(exc))
        return super().handle_exception(exc)

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/").rstrip("/")


class InfoApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(beacon.info_response(self.base_url(request)))


class ServiceInfoApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(beacon.service_info(self.base_url(request)))


class ConfigurationApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(beacon.configuration_response())


class MapApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(beacon.map_response(self.base_url(request)))


class EntryTypesApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(beacon.entry_types_response())


class FilteringTermsApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(beacon.filtering_terms_response(filtering_terms()))


def client_of(request: Any) -> Client:
    user = request.user if request.user.is_authenticated else None
    return Client(user=user, ip=request.META.get("REMOTE_ADDR", ""))


def answer_query(
    request: Any, parse: Callable[[], beacon.Query], base_url: str
) -> tuple[dict[str, Any], Answer]:
    """Parse, check the budget, answer, charge, audit: what the API and the page share.

    Raises PortalError (audited too) for every refusal.
    """
    client = client_of(request)
    query: beacon.Query | None = None
    try:
        query = parse()
        if query.granularity == "record" and not may_ask_records(request.user):
            status = 403 if request.user.is_authenticated else 401
            raise beacon.BeaconError(
                "record granularity is only for holders of an active access grant (the "
                "controlled tier); ask for boolean or count, or apply for access.",
                http_status=status,
            )
        beacon_budget_check(client=client)
        answer = beacon_answer(query, request.user)
        cost = rare_cost() if answer.rare else COMMON_COST
        spent = beacon_budget_spend(client=client, cost=cost)
    except PortalError as exc:
        beacon_query_audit(
            client=client,
            query=query.describe() if query else {},
            outcome={"refused": exc.http_status, "message": exc.message[:300]},
        )
        raise
    document = g_variants_document(answer, base_url)
    beacon_query_audit(
        client=client,
        query=query.describe(),
        outcome={
            "exists": answer.exists,
            "returned": document["meta"]["returnedGranularity"],
            "tiers": sorted({d.tier for d in answer.datasets} | {answer.default_tier}),
            "rare": answer.rare,
            "cost": cost,
            "spent_today": spent,
        },
    )
    return document, answer


class GVariantsApi(BeaconApi):
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        parameters = {k: request.query_params.get(k) for k in request.query_params}
        base_url = self.base_url(request)
        document, _ = answer_query(request, lambda: beacon.parse_query(parameters), base_url)
        return Response(document)

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        body = request.data
        base_url = self.base_url(request)
        document, _ = answer_query(request, lambda: beacon.query_of_post(body), base_url)
        return Response(document)


# --- the answer as a Beacon v2 document ---------------------------------------------------------


def _handovers(answer: Answer, base_url: str) -> list[dict[str, Any]]:
    handovers = []
    seen = set()
    for found in answer.datasets:
        accession = found.file.accession
        if not found.exists or accession in seen:
            continue
        seen.add(accession)
        page = reverse("datasets:catalogue_detail", args=[accession])
        apply = reverse("access:request_new")
        handovers += [
            {
                "handoverType": {"id": "CUSTOM:datasetPage", "label": "Dataset page"},
                "note": f"{accession} {found.file.title}: its data-use conditions and committee.",
                "url": f"{base_url}{page}",
            },
            {
                "handoverType": {"id": "CUSTOM:applyForAccess", "label": "Apply for access"},
                "note": f"Apply to the data access committee for {accession}.",
                "url": f"{base_url}{apply}?dataset={accession}",
            },
        ]
    return handovers


def _record(
    found: DatasetAnswer, variant: Any, carriers: list[int], names: dict[int, str]
) -> dict[str, Any]:
    start = variant.position - 1
    return {
        "variantInternalId": (
            f"{found.file.accession}:{variant.chrom}:{variant.position}:{variant.ref}:{variant.alt}"
        ),
        "variation": {
            "variantType": variant.kind,
            "referenceBases": variant.ref,
            "alternateBases": variant.alt,
            "location": {
                "type": "SequenceLocation",
                "sequence_id": f"{found.file.assembly}:{variant.chrom}",
                "interval": {
                    "type": "SequenceInterval",
                    "start": {"type": "Number", "value": start},
                    "end": {"type": "Number", "value": start + len(variant.ref)},
                },
            },
        },
        "caseLevelData": [{"biosampleId": names[pk]} for pk in carriers],
    }


def _result_sets(answer: Answer) -> list[dict[str, Any]]:
    """One result set per dataset, each paged by the query's skip and limit: resultsCount is
    the set's whole count, results the requested page (only its carriers are looked up)."""
    query = answer.query
    by_dataset: dict[str, list[tuple[DatasetAnswer, Any]]] = defaultdict(list)
    for found in answer.datasets:
        by_dataset[found.file.accession].extend((found, v) for v in found.variants)
    pages: dict[str, list[tuple[DatasetAnswer, Any, list[int]]]] = {}
    for accession, rows in by_dataset.items():
        page = rows[query.offset : query.offset + query.limit]
        pages[accession] = [
            (
                found,
                v,
                [pk for pk in carrier_sample_pks(v.index_id, v.carriers) if pk in found.carriers],
            )
            for found, v in page
        ]
    names = sample_names(pk for page in pages.values() for *_, pks in page for pk in pks)
    return [
        {
            "id": accession,
            "setType": "dataset",
            "exists": bool(by_dataset[accession]),
            "resultsCount": len(by_dataset[accession]),
            "results": [_record(found, v, pks, names) for found, v, pks in pages[accession]],
        }
        for accession in sorted(by_dataset)
    ]


def g_variants_document(answer: Answer, base_url: str) -> dict[str, Any]:
    """The framework's boolean, count or result-sets response for this answer.

    numTotalResults counts distinct alleles with at least one countable carrier; `info`
    adds how many countable participants carry them. Wherever the public tier applies, a
    count between 1 and 4 is never shown: the count granularity falls back to boolean with
    the range "1-4", and so does the carrier count.
    """
    query = answer.query
    returned = query.granularity
    info: dict[str, Any] = {
        "tier": answer.default_tier,
        "datasetTiers": {d.file.accession: d.tier for d in answer.datasets},
    }
    variants = answer.variant_count
    if returned != "boolean":
        carriers = answer.carrier_count
        if answer.public and 0 < carriers < SMALL_COUNT:
            info["carriers"] = SMALL_RANGE
        else:
            info["carriers"] = carriers
        if answer.public and 0 < variants < SMALL_COUNT:
            returned = "boolean"
            info["numTotalResults"] = SMALL_RANGE
    summary: dict[str, Any] = {"exists": answer.exists}
    if returned != "boolean":
        summary["numTotalResults"] = variants
    document: dict[str, Any] = {
        "meta": beacon.response_meta(query, returned=returned, requested=query.granularity),
        "responseSummary": summary,
        "info": info,
        "beaconHandovers": _handovers(answer, base_url),
    }
    if returned == "record":
        document["response"] = {"resultSets": _result_sets(answer)}
    return document
