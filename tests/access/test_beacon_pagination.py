"""Record granularity is paged (Beacon v2 `pagination`): `limit` records per result set (10 by
default, at most 100, 0 for the most allowed), `skip` counting pages; resultsCount is the
set's whole count."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from access.models import AccessRequest
from portal.models import AuditEvent, User
from tests.access.beacon_support import URL, BeaconWorld, ask, validate
from tests.conftest import signed_in_client

RANGE = {
    "assemblyId": "GRCh38",
    "referenceName": "1",
    "start": 0,
    "end": 10_000,
    "requestedGranularity": "record",
}


def _starts(document: dict[str, Any]) -> list[int]:
    (result_set,) = document["response"]["resultSets"]
    return [r["variation"]["location"]["interval"]["start"]["value"] for r in result_set["results"]]


@pytest.mark.parametrize(
    ("skip", "limit", "starts"),
    [
        # The grant's purpose counts the carriers at VCF POS 2000, 5000, 6000, 7000 and 7100
        # (1000: research refused; 3000: unlinked; 4000: the community has not approved).
        (None, None, [1999, 4999, 5999, 6999, 7099]),
        (0, 2, [1999, 4999]),
        (1, 2, [5999, 6999]),
        (2, 2, [7099]),
        (3, 2, []),
        (1, 3, [6999, 7099]),
    ],
)
def test_records_come_in_pages(
    beacon_world: BeaconWorld,
    approved_request: AccessRequest,
    researcher: User,
    skip: int | None,
    limit: int | None,
    starts: list[int],
) -> None:
    paging = {k: v for k, v in {"skip": skip, "limit": limit}.items() if v is not None}

    response = ask(signed_in_client(researcher), {**RANGE, **paging})

    assert response.status_code == 200, response.content
    document = response.json()
    validate(document, "responses/beaconResultsetsResponse.json")
    assert _starts(document) == starts
    (result_set,) = document["response"]["resultSets"]
    assert result_set["resultsCount"] == 5
    assert result_set["exists"] is True
    assert document["responseSummary"] == {"exists": True, "numTotalResults": 5}
    assert document["meta"]["receivedRequestSummary"]["pagination"] == {
        "skip": skip or 0,
        "limit": limit or 10,
    }


def test_a_post_pages_through_query_pagination(
    beacon_world: BeaconWorld, approved_request: AccessRequest, researcher: User
) -> None:
    parameters = {k: v for k, v in RANGE.items() if k != "requestedGranularity"}
    body: dict[str, Any] = {
        "meta": {"apiVersion": "v2.0.0"},
        "query": {
            "requestParameters": parameters,
            "requestedGranularity": "record",
            "pagination": {"skip": 1, "limit": 2},
        },
    }
    validate(body["query"]["pagination"], "common/beaconCommonComponents.json#/$defs/Pagination")

    response = signed_in_client(researcher).post(
        f"{URL}/g_variants", body, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert _starts(response.json()) == [5999, 6999]


def test_a_limit_of_zero_asks_for_the_most_allowed(
    beacon_world: BeaconWorld, approved_request: AccessRequest, researcher: User
) -> None:
    document = ask(signed_in_client(researcher), {**RANGE, "limit": 0}).json()

    assert document["meta"]["receivedRequestSummary"]["pagination"] == {"skip": 0, "limit": 100}
    assert len(_starts(document)) == 5


def test_the_page_is_audited_with_the_query(
    beacon_world: BeaconWorld, approved_request: AccessRequest, researcher: User
) -> None:
    ask(signed_in_client(researcher), {**RANGE, "skip": 2, "limit": 2})

    event = AuditEvent.objects.filter(action="beacon.query").get()
    assert event.after["query"]["pagination"] == {"skip": 2, "limit": 2}


BAD_PAGES = [
    ({"skip": "-1"}, "skip (pages to skip) must be a whole number of 0 or more"),
    ({"skip": "1.5"}, "skip (pages to skip) must be a whole number of 0 or more"),
    ({"skip": "1000001"}, "skip (pages to skip) must be at most 1,000,000"),
    ({"limit": "abc"}, "limit (records per page) must be a whole number of 0 or more, not 'abc'"),
    ({"limit": "101"}, "limit (records per page) must be at most 100"),
    ({"limit": "99999999999"}, "limit (records per page) must be a whole number"),
]


@pytest.mark.parametrize(("paging", "message"), BAD_PAGES)
def test_bad_pages_are_refused_plainly(
    beacon_world: BeaconWorld, paging: dict[str, str], message: str
) -> None:
    # Checked at every granularity, before any tier: a bad page is a bad request.
    response = ask(Client(), {**RANGE, "requestedGranularity": "boolean", **paging})

    assert response.status_code == 400, response.content
    validate(response.json(), "responses/beaconErrorResponse.json")
    assert message in response.json()["error"]["errorMessage"]


@pytest.mark.parametrize(
    ("pagination", "message"),
    [
        ("2", "query.pagination must be a JSON object"),
        ({"skip": True}, "skip (pages to skip) must be a whole number, not 'True'"),
        ({"limit": [5]}, "limit (records per page) must be a whole number"),
        ({"currentPage": "ab0sc"}, "Unsupported pagination field(s): currentPage"),
    ],
)
def test_bad_post_pagination_is_refused_plainly(
    beacon_world: BeaconWorld, pagination: Any, message: str
) -> None:
    parameters = {k: v for k, v in RANGE.items() if k != "requestedGranularity"}
    body = {"query": {"requestParameters": parameters, "pagination": pagination}}

    response = Client().post(f"{URL}/g_variants", body, content_type="application/json")

    assert response.status_code == 400, response.content
    validate(response.json(), "responses/beaconErrorResponse.json")
    assert message in response.json()["error"]["errorMessage"]


def test_the_info_document_states_the_page_limits(db: None) -> None:
    info = Client().get(f"{URL}/info").json()["response"]["info"]

    assert info["pagination"] == {"defaultLimit": 10, "maxLimit": 100}
