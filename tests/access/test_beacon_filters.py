"""Beacon v2 filters on genomic variants: DUO terms (the dataset's data-use conditions, with
descendant terms by default) and dataset accessions, listed by /filtering_terms; every
other filter is refused in the Beacon error shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from datasets.models import Dataset
from tests.access.beacon_support import URL, BeaconWorld, ask, sequence, validate


def _exists(params: dict[str, Any]) -> bool:
    response = ask(Client(), params)
    assert response.status_code == 200, response.content
    return response.json()["responseSummary"]["exists"]


def _post(filters: Any) -> Any:
    parameters = sequence(2000, "C", "T")
    query: dict[str, Any] = {"requestParameters": parameters, "filters": filters}
    body = {"meta": {"apiVersion": "v2.0.0"}, "query": query}
    return Client().post(f"{URL}/g_variants", body, content_type="application/json")


def test_filtering_terms_list_the_duo_terms_and_datasets_in_use(
    beacon_world: BeaconWorld,
) -> None:
    dataset = beacon_world.cohort.dataset

    response = Client().get(f"{URL}/filtering_terms")

    assert response.status_code == 200
    validate(response.json(), "responses/beaconFilteringTermsResponse.json")
    body = response.json()["response"]
    assert body["filteringTerms"] == [
        {
            "type": "ontology",
            "id": "DUO:0000042",
            "label": "general research use",
            "scopes": ["genomicVariant"],
        },
        {
            "type": "custom",
            "id": dataset.accession,
            "label": "Test cohort",
            "scopes": ["genomicVariant"],
        },
    ]
    assert [r["id"] for r in body["resources"]] == ["duo"]


def test_filtering_terms_are_empty_without_an_indexed_dataset(db: None) -> None:
    response = Client().get(f"{URL}/filtering_terms")

    validate(response.json(), "responses/beaconFilteringTermsResponse.json")
    assert response.json()["response"]["filteringTerms"] == []


def test_a_dataset_filter_answers_from_that_dataset(beacon_world: BeaconWorld) -> None:
    accession = beacon_world.cohort.dataset.accession

    assert _exists(sequence(2000, "C", "T", filters=accession)) is True
    document = ask(Client(), sequence(2000, "C", "T", filters=accession)).json()
    assert document["meta"]["receivedRequestSummary"]["filters"] == [accession]


def test_a_duo_filter_answers_from_datasets_carrying_the_term(beacon_world: BeaconWorld) -> None:
    # The dataset is GRU; HMB is below GRU in DUO, not above it.
    assert _exists(sequence(2000, "C", "T", filters="DUO:0000042")) is True
    assert _exists(sequence(2000, "C", "T", filters="DUO:0000006")) is False
    assert _exists(sequence(2000, "C", "T", filters="DUO:0000042,DUO:0000006")) is False


def test_descendant_terms_count_unless_the_filter_says_not(beacon_world: BeaconWorld) -> None:
    Dataset.objects.filter(pk=beacon_world.cohort.dataset.pk).update(permission="HMB")
    gru = {"id": "DUO:0000042", "scope": "genomicVariant"}

    assert _post([gru]).json()["responseSummary"]["exists"] is True
    assert _post([{**gru, "includeDescendantTerms": False}]).json()["responseSummary"] == {
        "exists": False
    }
    assert _post([{"id": "DUO:0000006"}]).json()["responseSummary"]["exists"] is True


def test_post_filters_are_the_framework_s_filter_objects(beacon_world: BeaconWorld) -> None:
    filters = [
        {"id": "DUO:0000042", "includeDescendantTerms": True, "similarity": "exact"},
        {"id": beacon_world.cohort.dataset.accession, "scope": "genomicVariant"},
    ]
    validate(filters, "requests/filteringTerms.json")

    response = _post(filters)

    assert response.status_code == 200, response.content
    assert response.json()["responseSummary"]["exists"] is True


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("NCIT:C20197", "Unknown filter 'NCIT:C20197': this beacon filters on DUO terms"),
        ("DUO:9999999", "Unknown filter 'DUO:9999999'"),
        ("DUO:0000005", "Unknown filter 'DUO:0000005'"),  # obsolete (GRU-CC)
        ("CDS999999", "CDS999999 is not a dataset this beacon answers for"),
        (",".join(["DUO:0000042"] * 21), "At most 20 filters, not 21"),
    ],
)
def test_unknown_get_filters_are_refused_plainly(
    beacon_world: BeaconWorld, filters: str, message: str
) -> None:
    response = ask(Client(), sequence(2000, "C", "T", filters=filters))

    assert response.status_code == 400, response.content
    validate(response.json(), "responses/beaconErrorResponse.json")
    assert message in response.json()["error"]["errorMessage"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([{"id": "age", "operator": ">", "value": "P70Y"}], "Alphanumeric filters"),
        ([{"id": "DUO:0000042", "scope": "individuals"}], "apply to genomicVariant only"),
        ([{"id": "DUO:0000042", "similarity": "high"}], "Only exact filters"),
        ([{"id": "DUO:0000042", "includeDescendantTerms": "yes"}], "must be true or false"),
        ([{"id": "DUO:0000042", "colour": "red"}], "Unknown filter field(s): colour"),
        ([{"scope": "genomicVariant"}], "Each filter needs an id"),
        ([7], "Each filter must be an object with an id"),
        ({"id": "DUO:0000042"}, "filters must be a list"),
    ],
)
def test_unsupported_post_filters_are_refused_plainly(
    beacon_world: BeaconWorld, filters: Any, message: str
) -> None:
    response = _post(filters)

    assert response.status_code == 400, response.content
    validate(response.json(), "responses/beaconErrorResponse.json")
    assert message in response.json()["error"]["errorMessage"]
