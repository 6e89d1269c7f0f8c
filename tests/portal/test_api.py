from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from portal.models import User
from tests.conftest import signed_in_client
from tests.factories import api_token_for

PROBLEM = "application/problem+json"


def _problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    return json.loads(response.content)


def _token_auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def test_api_root_is_open_and_lists_links(db: None) -> None:
    response = Client().get("/api/v1/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["version"] == "v1"
    assert {
        "me": "http://testserver/api/v1/me/",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
        "my_consent": "http://testserver/api/v1/consent/me/",
    }.items() <= body["links"].items()
    for link in body["links"].values():
        # Every advertised link exists (anonymous callers may be refused, never "not found").
        assert Client().get(link).status_code in {200, 401, 403}, link


def test_api_me_anonymous_gets_401_problem(db: None) -> None:
    response = Client().get("/api/v1/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert _problem(response) == {
        "type": "https://custodian.invalid/problems/not_authenticated",
        "title": "Not authenticated",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_api_me_with_token_gives_the_users_details(researcher: User) -> None:
    response = Client().get("/api/v1/me/", headers=_token_auth(api_token_for(researcher, "read")))

    assert response.status_code == 200
    assert response.json() == {
        "email": "researcher@example.org",
        "full_name": "Riley Researcher",
        "role": "researcher",
        "roles": ["researcher"],
        "institution": "Example University",
    }


def test_api_me_with_unknown_token_gets_401_problem(db: None) -> None:
    response = Client().get("/api/v1/me/", headers=_token_auth("0" * 40))

    assert response.status_code == 401
    body = _problem(response)
    assert body["code"] == "token_invalid"
    assert body["detail"] == (
        "This API token is not valid. Check that you copied all of it, or create a new one "
        "on your account page."
    )


def test_api_me_with_session_works_for_participant(participant: User) -> None:
    response = signed_in_client(participant).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["role"] == "participant"


def test_api_schema_is_openapi_3_and_lists_me(db: None) -> None:
    response = Client().get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Custodian API"
    assert "/api/v1/me/" in schema["paths"]
    assert "get" in schema["paths"]["/api/v1/me/"]
    assert "/api/v1/" in schema["paths"]


def test_api_schema_default_is_yaml(db: None) -> None:
    response = Client().get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert re.search(r"^openapi: 3\.\d+\.\d+$", response.content.decode(), re.MULTILINE)
    assert "/api/v1/me/:" in response.content.decode()


@pytest.fixture
def docs_page(db: None) -> str:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_api_docs_loads_nothing_from_other_sites(docs_page: str) -> None:
    referenced = re.findall(r'<(?:script|link)[^>]*\s(?:src|href)="([^"]+)"', docs_page)

    assert referenced, docs_page
    assert [url for url in referenced if re.match(r"(?i)(https?:)?//", url)] == []


def test_api_docs_scripts_are_served_by_the_portal(docs_page: str) -> None:
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', docs_page)

    # Every script is a file (no inline script: the CSP allows 'self' only).
    assert len(sources) == docs_page.count("<script")
    assert any("swagger-ui-bundle" in src for src in sources)
    client = Client()
    for src in sources:
        response = client.get(src.replace("&amp;", "&"))
        assert response.status_code == 200, src
        assert "javascript" in response["Content-Type"], src
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, src


def test_api_docs_stylesheet_is_served_by_the_portal(docs_page: str) -> None:
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', docs_page)

    assert len(sheets) == 1
    response = Client().get(sheets[0])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


def test_api_docs_init_script_points_at_the_portals_schema(docs_page: str) -> None:
    init = next(s for s in re.findall(r'<script[^>]*\ssrc="([^"]+)"', docs_page) if "script" in s)

    response = Client().get(init.replace("&amp;", "&"))

    assert response.status_code == 200
    assert "/api/schema/" in response.content.decode()
