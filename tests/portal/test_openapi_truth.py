"""The published OpenAPI describes what the API does: paginated lists as their envelope,
refusals as problem+json, nullable fields as nullable, unknown filter values refused, and
request bodies in the media types the operation parses."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from django.test import Client

from consent.models import Participant
from portal.models import User
from tests.factories import ParticipantFactory, api_token_for

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def schema(django_db_setup: None, django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return yaml.safe_load(Client().get("/api/schema/").content)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` spelled as JSON Schema (a type that admits null)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    elif node.get("nullable") and "$ref" in node:
        out = {"anyOf": [{"$ref": node["$ref"]}, {"type": "null"}]}
    return out


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_openapi_truth_paginated_lists_are_documented_as_their_envelope(
    schema: dict[str, Any],
) -> None:
    for path in (
        "/api/v1/datasets/",
        "/api/v1/consent/participants/",
        "/api/v1/access/grants/",
        "/api/v1/access/requests/{accession}/deliveries/",
    ):
        operation = schema["paths"][path]["get"]
        body = _resolve(
            schema, operation["responses"]["200"]["content"]["application/json"]["schema"]
        )
        assert set(body["properties"]) == {"count", "next", "previous", "results"}, path
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200), path


def test_openapi_truth_every_operation_documents_its_refusals_as_problems(
    schema: dict[str, Any],
) -> None:
    for path, method, operation in _operations(schema):
        expected = {"400", "401", "403"}
        if "{" in path or method in {"post", "put", "patch"}:
            expected.add("404")
        if method != "get":
            expected.add("409")
        if method in {"post", "put", "patch"}:
            expected |= {"413", "415"}
        assert expected <= set(operation["responses"]), (method, path)
        for status in expected:
            content = operation["responses"][status]["content"]
            assert list(content) == [PROBLEM], (method, path, status)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_openapi_truth_request_bodies_are_json_except_the_upload(schema: dict[str, Any]) -> None:
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for path, method, operation in _operations(schema)
        if "requestBody" in operation
    }

    assert bodies.pop(("post", "/api/v1/access/requests/{accession}/ethics/")) == [
        "multipart/form-data"
    ]
    assert {tuple(types) for types in bodies.values()} == {("application/json",)}


def test_openapi_truth_nullable_index_of(schema: dict[str, Any]) -> None:
    for name in ("DataFileAnyRole", "StewardDataFile"):
        assert schema["components"]["schemas"][name]["properties"]["index_of"]["nullable"]


def test_openapi_truth_unknown_filter_value_is_refused(steward: User) -> None:
    token = api_token_for(steward)

    response = Client().get("/api/v1/datasets/?status=AAA", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == {"status": ['"AAA" is not a valid choice.']}


def test_openapi_truth_empty_filter_value_is_refused(steward: User) -> None:
    token = api_token_for(steward)

    response = Client().get(
        "/api/v1/consent/participants/?study_id=", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == {
        "study_id": ["Give a value, or leave the parameter out."]
    }


def test_openapi_truth_my_consent_before_any_consent_matches_its_schema(
    schema: dict[str, Any], db: None
) -> None:
    participant: Participant = ParticipantFactory()
    token = api_token_for(participant.user)

    response = Client().get("/api/v1/consent/me/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["status"], body["sequence"], body["version"]) == ("none", 0, None)
    documented = schema["paths"]["/api/v1/consent/me/"]["get"]["responses"]["200"]
    component = documented["content"]["application/json"]["schema"]
    jsonschema.validate(
        body, _json_schema({**_resolve(schema, component), "components": schema["components"]})
    )
