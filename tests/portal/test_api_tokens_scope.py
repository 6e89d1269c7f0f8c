"""A token's scope: `read` only reads, `download` also asks for and reads delivery links,
`write` does everything the account may do through the API. Refusals are 403 in plain words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from portal.models import User
from tests.factories import api_token_for

READ_ONLY = (
    "This API token is read-only: it cannot change anything. Use a token with the “write” "
    "scope, or the web pages."
)


def _client(user: User, scope: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user, scope)}")
    return client


def _refusal(response: Any) -> tuple[int, str, str]:
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = json.loads(response.content)
    return response.status_code, body["code"], body["detail"]


def test_read_token_reads(participant: User) -> None:
    client = _client(participant, "read")

    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/consent/me/").status_code == 200
    assert client.get("/api/v1/datasets/").status_code == 200
    assert client.get("/ga4gh/passport/v1/visas").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/consent/me/"),
        ("post", "/api/v1/consent/me/withdrawal/"),
        ("post", "/api/v1/access/requests/"),
        ("post", "/api/v1/access/notifications/read/"),
        ("delete", "/api/v1/me/tokens/1/"),
        ("patch", "/api/v1/access/requests/EGAR00000000001/"),
    ],
)
def test_read_token_refused_on_unsafe_methods_with_403(
    participant: User, method: str, path: str
) -> None:
    response = getattr(_client(participant, "read"), method)(path, {}, format="json")

    assert _refusal(response) == (403, "token_scope", READ_ONLY)


def test_read_token_cannot_see_delivery_links(researcher: User) -> None:
    response = _client(researcher, "read").get("/api/v1/access/deliveries/999999/")

    assert _refusal(response) == (
        403,
        "token_scope",
        "This API token's scope is “read”; this needs the “download” scope. Create a token "
        "with that scope on your account page.",
    )


def test_read_token_cannot_ask_for_delivery_links(researcher: User) -> None:
    response = _client(researcher, "read").post(
        "/api/v1/access/grants/999999/deliveries/", {}, format="json"
    )

    assert _refusal(response)[:2] == (403, "token_scope")


@pytest.mark.parametrize("scope", ["download", "write"])
def test_download_and_write_tokens_reach_the_delivery_endpoints(
    researcher: User, scope: str
) -> None:
    client = _client(researcher, scope)

    # Past the scope check: the view itself answers (there is no such delivery or grant).
    assert _refusal(client.get("/api/v1/access/deliveries/999999/"))[:2] == (404, "not_found")
    response = client.post("/api/v1/access/grants/999999/deliveries/", {}, format="json")
    assert _refusal(response)[:2] == (404, "not_found")


def test_download_token_cannot_change_consent(participant: User) -> None:
    response = _client(participant, "download").post("/api/v1/consent/me/", {}, format="json")

    assert _refusal(response) == (
        403,
        "token_scope",
        "This API token's scope is “download”; this needs the “write” scope. Create a token "
        "with that scope on your account page.",
    )


def test_write_token_reaches_the_consent_change(participant: User) -> None:
    response = _client(participant, "write").post("/api/v1/consent/me/", {}, format="json")

    # The view's own validation answers: the scope let the request through.
    assert _refusal(response)[:2] == (400, "invalid")
