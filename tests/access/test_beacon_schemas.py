"""Every Beacon v2 answer validates against the framework's published JSON schemas
(vendored under tests/access/data/beacon-v2/, CC0), with a local $ref resolver."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from jsonschema import ValidationError

from access.models import Grant
from portal.models import User
from tests.access.beacon_support import URL, BeaconWorld, ask, sequence, validate
from tests.conftest import signed_in_client

INFORMATIONAL = [
    ("", "responses/beaconInfoResponse.json"),
    ("/info", "responses/beaconInfoResponse.json"),
    ("/service-info", "responses/ga4gh-service-info-1-0-0-schema.json"),
    ("/configuration", "responses/beaconConfigurationResponse.json"),
    ("/map", "responses/beaconMapResponse.json"),
    ("/entry_types", "responses/beaconEntryTypesResponse.json"),
    ("/filtering_terms", "responses/beaconFilteringTermsResponse.json"),
]


def test_the_validator_can_fail() -> None:
    with pytest.raises(ValidationError):
        validate({"meta": {"beaconId": "x"}}, "responses/beaconBooleanResponse.json")


@pytest.mark.parametrize(("path", "schema"), INFORMATIONAL)
def test_informational_endpoints_validate(db: None, path: str, schema: str) -> None:
    response = Client().get(f"{URL}{path}")

    assert response.status_code == 200
    validate(response.json(), schema)


def test_the_configuration_and_map_name_the_genomic_variant_entry_type(db: None) -> None:
    configuration = Client().get(f"{URL}/configuration").json()["response"]
    validate(configuration, "configuration/beaconConfigurationSchema.json")
    assert list(configuration["entryTypes"]) == ["genomicVariant"]
    beacon_map = Client().get(f"{URL}/map").json()["response"]
    validate(beacon_map, "configuration/beaconMapSchema.json")
    assert beacon_map["endpointSets"]["genomicVariant"]["rootUrl"] == (
        "http://testserver/ga4gh/beacon/v2/g_variants"
    )


@pytest.mark.parametrize(
    ("granularity", "returned", "schema"),
    [
        ("boolean", "boolean", "responses/beaconBooleanResponse.json"),
        # One allele is a count below 5: the public tier answers it as a boolean.
        ("count", "boolean", "responses/beaconBooleanResponse.json"),
    ],
)
def test_anonymous_answers_validate(
    beacon_world: BeaconWorld, granularity: str, returned: str, schema: str
) -> None:
    params = sequence(5000, "A", "T", requestedGranularity=granularity)
    document = ask(Client(), params).json()

    validate(document, schema)
    validate(document["meta"], "responses/sections/beaconResponseMeta.json")
    assert document["meta"]["returnedGranularity"] == returned
    assert document["responseSummary"]["exists"] is True


def test_range_and_post_answers_validate(beacon_world: BeaconWorld) -> None:
    params = {"assemblyId": "GRCh38", "referenceName": "chr1", "start": 0, "end": 10_000}
    counted = ask(Client(), {**params, "requestedGranularity": "count"}).json()
    validate(counted, "responses/beaconCountResponse.json")
    assert counted["responseSummary"] == {"exists": True, "numTotalResults": 5}
    body = {"meta": {"apiVersion": "v2.0.0"}, "query": {"requestParameters": params}}
    response = Client().post(f"{URL}/g_variants", body, content_type="application/json")
    validate(response.json(), "responses/beaconBooleanResponse.json")


def test_record_answers_validate(
    beacon_world: BeaconWorld, researcher: User, approved_request: Any
) -> None:
    assert Grant.objects.filter(grantee=researcher).exists()
    client = signed_in_client(researcher)
    document = ask(client, sequence(5000, "A", "T", requestedGranularity="record")).json()

    validate(document, "responses/beaconResultsetsResponse.json")
    validate(document["response"], "responses/sections/beaconResultsets.json")
    assert document["meta"]["returnedGranularity"] == "record"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"assemblyId": "GRCh38", "referenceName": "1", "start": "x", "end": 5},
        sequence(5000, "A", "T", requestedGranularity="record"),
    ],
)
def test_errors_validate(beacon_world: BeaconWorld, params: dict[str, Any]) -> None:
    response = ask(Client(), params)

    assert 400 <= response.status_code < 500
    validate(response.json(), "responses/beaconErrorResponse.json")
