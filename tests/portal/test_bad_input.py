"""Inputs PostgreSQL or the parsers cannot take (NUL bytes, huge paging numbers, deep JSON)
are refused in one place with a clear 400/413, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from portal.models import User
from tests.factories import api_token_for

PROBLEM = "application/problem+json"


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    assert body["code"] == code
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/datasets/?status=%00",
        "/api/v1/datasets/%00/",
        "/api/v1/datasets/?x%00=1",
        "/api/v1/consent/participants/?q=a%00b",
    ],
)
def test_bad_input_nul_in_api_url_is_problem_400(db: None, url: str) -> None:
    body = _problem(Client().get(url), 400, "nul_byte")

    assert body["detail"] == (
        "The request contains a NUL character (%00), which no field of this service can "
        "hold. Remove it and send the request again."
    )


@pytest.mark.parametrize("url", ["/datasets/%00/", "/consent/?next=%00", "/%00"])
def test_bad_input_nul_in_page_url_is_error_page_400(db: None, url: str) -> None:
    response = Client().get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert "<h1>Bad request</h1>" in page
    assert "contains a NUL character (%00)" in page


def test_bad_input_nul_in_form_field_is_refused(db: None) -> None:
    response = Client().post("/account/sign-in/", {"email": "a\x00@example.org", "password": "x"})

    assert response.status_code == 400
    assert "contains a NUL character (%00)" in response.content.decode()


def test_bad_input_nul_in_json_string_is_refused(steward: User) -> None:
    token = api_token_for(steward)

    response = Client().post(
        "/api/v1/datasets/register/",
        data='{"title": "a\\u0000b"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    _problem(response, 400, "nul_byte")


def test_bad_input_nul_in_json_key_is_refused(steward: User) -> None:
    token = api_token_for(steward)

    response = Client().post(
        "/api/v1/datasets/register/",
        data='{"a\\u0000": 1}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    _problem(response, 400, "nul_byte")


def test_bad_input_deep_json_is_problem_400(steward: User) -> None:
    token = api_token_for(steward)

    response = Client().post(
        "/api/v1/datasets/register/",
        data="[" * 100_000,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    body = _problem(response, 400, "json_too_deep")
    assert body["detail"] == "The JSON body is nested more than 32 levels deep."


def test_bad_input_json_at_depth_limit_reaches_the_view(steward: User) -> None:
    token = api_token_for(steward)
    nested: Any = "x"
    for _ in range(31):
        nested = [nested]

    response = Client().post(
        "/api/v1/datasets/register/",
        data=json.dumps({"title": nested}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    # The serializer's own refusal: a title is a string, not a list.
    _problem(response, 400, "invalid")


def test_bad_input_json_over_size_limit_is_problem_413(steward: User, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    token = api_token_for(steward)

    response = Client().post(
        "/api/v1/datasets/register/",
        data=json.dumps({"title": "x" * 2000}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    body = _problem(response, 413, "too_large")
    assert body["detail"] == "The request body is larger than 1000 bytes, the most accepted."


@pytest.mark.parametrize(
    "query",
    [
        "limit=99999999999999999999",
        "offset=99999999999999999999",
        "limit=201",
        "limit=0",
        "limit=-1",
        "limit=abc",
        "offset=-5",
        "offset=1.5",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/datasets/", "/api/v1/consent/participants/"])
def test_bad_input_paging_out_of_range_is_problem_400(steward: User, path: str, query: str) -> None:
    token = api_token_for(steward)

    response = Client().get(f"{path}?{query}", HTTP_AUTHORIZATION=f"Bearer {token}")

    body = _problem(response, 400, "invalid")
    name = query.partition("=")[0]
    assert body["errors"][name] == [
        "A whole number from 1 to 200."
        if name == "limit"
        else "A whole number from 0 to 1000000000."
    ]


def test_bad_input_paging_in_range_answers(steward: User) -> None:
    token = api_token_for(steward)

    response = Client().get(
        "/api/v1/datasets/?limit=200&offset=1000000000", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 200
    assert json.loads(response.content)["results"] == []
