"""Every malformed beacon query is a Beacon error document with a 4xx and a plain message."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from portal.models import AuditEvent, User
from tests.access.beacon_support import URL, BeaconWorld, ask, sequence, validate
from tests.conftest import signed_in_client

RANGE = {"assemblyId": "GRCh38", "referenceName": "1", "start": 100, "end": 200}

BAD_GETS = [
    ({**RANGE, "assemblyId": ""}, "assemblyId is required"),
    ({k: v for k, v in RANGE.items() if k != "assemblyId"}, "assemblyId is required"),
    ({**RANGE, "assemblyId": "GRCh99"}, "Unknown assemblyId 'GRCh99'"),
    ({k: v for k, v in RANGE.items() if k != "referenceName"}, "referenceName is required"),
    ({**RANGE, "referenceName": "chr99"}, "Unknown referenceName '99' for GRCh38"),
    ({**RANGE, "referenceName": "1\x00"}, "printable characters"),
    ({k: v for k, v in RANGE.items() if k != "start"}, "start is required"),
    ({**RANGE, "start": "abc"}, "start must be a whole number of 0 or more, not 'abc'"),
    ({**RANGE, "start": "-5"}, "start must be a whole number of 0 or more"),
    ({**RANGE, "start": "1.5"}, "start must be a whole number"),
    ({**RANGE, "start": "99999999999"}, "start must be a whole number"),
    ({**RANGE, "end": "9999999999"}, "end (9999999999) is beyond the end of any chromosome"),
    ({**RANGE, "start": "1,5"}, "bracket queries (several values) are not supported"),
    ({**RANGE, "end": 100}, "end (100) must be greater than start (100)"),
    ({**RANGE, "end": 1_000_101}, "ranges of at most 1,000,000 bases"),
    ({**RANGE, "end": ""}, "Give referenceBases and alternateBases"),
    ({**RANGE, "variantType": "BOGUS"}, "Unknown variantType 'BOGUS'"),
    ({**RANGE, "requestedGranularity": "everything"}, "requestedGranularity must be one of"),
    ({**RANGE, "filters": "NCIT:C20197"}, "Unknown filter 'NCIT:C20197'"),
    ({**RANGE, "limit": "101"}, "limit (records per page) must be at most 100"),
    ({**RANGE, "colour": "red"}, "Unknown parameter(s): colour"),
    (sequence(100, "", "G"), "needs referenceBases as well as alternateBases"),
    (sequence(100, "XYZ", "G"), "referenceBases must be bases"),
    (sequence(100, "A", "G<"), "alternateBases must be bases"),
]


@pytest.mark.parametrize(("params", "message"), BAD_GETS)
def test_bad_get_queries_are_refused_plainly(
    beacon_world: BeaconWorld, params: dict[str, Any], message: str
) -> None:
    response = ask(Client(), params)

    assert response.status_code == 400, response.content
    document = response.json()
    validate(document, "responses/beaconErrorResponse.json")
    assert document["error"]["errorCode"] == 400
    assert message in document["error"]["errorMessage"]


def _post(body: Any, **kwargs: Any) -> Any:
    return Client().post(f"{URL}/g_variants", body, content_type="application/json", **kwargs)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "The body is not valid JSON"),
        ([1, 2], "The body must be a JSON object"),
        ({"query": "x"}, "query must be a JSON object"),
        ({"query": {"requestParameters": "x"}}, "requestParameters must be a JSON object"),
        ({"query": {"requestParameters": {**RANGE, "start": [1, 2]}}}, "bracket queries"),
        ({"query": {"requestParameters": {**RANGE, "start": {"a": 1}}}}, "whole number"),
        ({"query": {"requestParameters": {**RANGE, "start": True}}}, "whole number"),
        ({"query": {"requestParameters": {**RANGE, "referenceName": 1}}}, "as text"),
        ({"query": {"requestParameters": RANGE, "requestedGranularity": []}}, "must be one of"),
        ({"query": {"requestParameters": RANGE, "filters": [{"id": "x"}]}}, "Unknown filter 'x'"),
        ({"query": {"requestParameters": RANGE, "pagination": {"limit": -1}}}, "limit"),
    ],
)
def test_bad_post_bodies_are_refused_plainly(
    beacon_world: BeaconWorld, body: Any, message: str
) -> None:
    response = _post(body)

    assert response.status_code == 400, response.content
    validate(response.json(), "responses/beaconErrorResponse.json")
    assert message in response.json()["error"]["errorMessage"]


def test_a_single_bracket_value_is_taken(beacon_world: BeaconWorld) -> None:
    body = {"query": {"requestParameters": {**RANGE, "start": [1999], "end": [2000]}}}

    response = _post(body)

    assert response.status_code == 200
    assert response.json()["responseSummary"]["exists"] is True


def test_other_methods_are_refused_in_the_beacon_shape(beacon_world: BeaconWorld) -> None:
    response = Client().delete(f"{URL}/g_variants")

    assert response.status_code == 405
    validate(response.json(), "responses/beaconErrorResponse.json")


def test_a_bad_token_is_a_401_in_the_beacon_shape(beacon_world: BeaconWorld) -> None:
    response = ask(Client(), RANGE, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 401
    validate(response.json(), "responses/beaconErrorResponse.json")


def test_refusals_are_audited_too(beacon_world: BeaconWorld, researcher: User) -> None:
    ask(signed_in_client(researcher), {**RANGE, "start": "abc"})

    event = AuditEvent.objects.filter(action="beacon.query").get()
    assert event.actor == researcher
    assert event.after["refused"] == 400
    assert "start must be a whole number" in event.after["message"]
