"""GA4GH and /api/ requests with an API token and no session take the shorter middleware chain
(portal/stateless.py): same answers, the API's own strict headers, no cookies; anything
else (a session cookie, a page, no token) takes the whole chain as before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from portal.models import ApiTokenScope, User
from tests.factories import api_token_for

VISAS = "/ga4gh/passport/v1/visas"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_for(user, ApiTokenScope.READ)}"}


def test_a_token_request_is_answered_with_the_api_headers_and_no_cookie(
    researcher: User,
) -> None:
    response = Client().get(VISAS, headers=_bearer(researcher))

    assert response.status_code == 200, response.content
    assert list(response.json()) == ["ga4gh_passport_v1"]
    assert response["Content-Security-Policy"] == API_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert len(response["X-Request-ID"]) == 32
    assert response.cookies == {}


def test_the_token_scheme_is_read_whatever_its_case(researcher: User) -> None:
    token = api_token_for(researcher, ApiTokenScope.READ)

    response = Client().get(VISAS, headers={"Authorization": f"token {token}"})

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == API_POLICY


def test_a_refused_token_is_a_401_in_the_protocols_shape(db: None) -> None:
    response = Client().get(VISAS, headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 401
    assert "This API token is not valid" in response.content.decode()
    assert response["Content-Security-Policy"] == API_POLICY


def test_bad_input_is_still_refused_on_the_short_chain(researcher: User) -> None:
    response = Client().get(VISAS + "?x=%00", headers=_bearer(researcher))

    assert response.status_code == 400
    assert response["Content-Security-Policy"] == API_POLICY


def test_a_plain_view_under_ga4gh_sees_an_anonymous_user(researcher: User) -> None:
    response = Client().get("/ga4gh/jwks.json", headers=_bearer(researcher))

    assert response.status_code == 200
    assert "keys" in response.json()
    assert response["Content-Security-Policy"] == API_POLICY


def test_a_request_with_a_session_cookie_takes_the_whole_chain(researcher: User) -> None:
    client = Client()
    client.force_login(researcher)

    response = client.get(VISAS, headers=_bearer(researcher))

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/healthz", "/datasets/"])
def test_outside_the_apis_a_token_request_takes_the_whole_chain(
    researcher: User, path: str
) -> None:
    response = Client().get(path, headers=_bearer(researcher))

    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_rest_api_request_with_a_token_takes_the_short_chain(participant: User) -> None:
    token = api_token_for(participant, ApiTokenScope.READ)

    response = Client().get(
        "/api/v1/consent/me/",
        headers={"Authorization": f"Token {token}", "X-Request-ID": "rest-api-call-1"},
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "none"
    assert response["Content-Security-Policy"] == API_POLICY
    assert response["X-Request-ID"] == "rest-api-call-1"
    assert response.cookies == {}


def test_a_rest_api_request_without_a_token_takes_the_whole_chain(db: None) -> None:
    response = Client().get("/api/v1/consent/me/")

    assert response.status_code in (401, 403)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_ga4gh_request_without_a_token_takes_the_whole_chain(db: None) -> None:
    response = Client().get("/ga4gh/jwks.json")

    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_token_lookup_is_planned_once_per_connection(researcher: User) -> None:
    client = Client()
    for _ in range(3):
        assert client.get(VISAS, headers=_bearer(researcher)).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%FROM "portal_apitoken" t JOIN%'],
        )
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) == 1
    assert 'WHERE t."prefix" = $1' in prepared[0]
