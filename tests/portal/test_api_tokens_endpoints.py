"""GET/POST /api/v1/me/tokens/ and DELETE /api/v1/me/tokens/<id>/: a person lists, creates
(signed-in session only) and revokes their own tokens; someone else's token is "not found"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.models import ApiToken, AuditEvent, User
from tests.conftest import signed_in_client
from tests.factories import api_token_for

TOKENS = "/api/v1/me/tokens/"


def _problem(response: Any) -> tuple[int, str, str]:
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = json.loads(response.content)
    return response.status_code, body["code"], body["detail"]


def _bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_tokens_anonymous_gets_401(db: None) -> None:
    for response in (
        Client().get(TOKENS),
        Client().post(TOKENS, {}),
        Client().delete(f"{TOKENS}1/"),
    ):
        assert _problem(response)[:2] == (401, "not_authenticated")


def test_tokens_created_with_the_session_returns_the_secret_once(researcher: User) -> None:
    client = signed_in_client(researcher)

    response = client.post(
        TOKENS,
        {"name": "htsget on the cluster", "scope": "download", "expires_in_days": 30},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    secret = body.pop("token")
    assert secret.startswith("cus_")
    assert len(secret) == 47
    token = ApiToken.objects.get(user=researcher)
    assert body["id"] == token.pk
    assert body["name"] == "htsget on the cluster"
    assert body["prefix"] == secret[:12]
    assert body["scope"] == "download"
    assert body["state"] == "active"
    assert body["last_used_at"] is None
    assert body["revoked_at"] is None
    assert (token.expires_at - token.created_at).days == 30
    listed = client.get(TOKENS).json()
    assert [t["name"] for t in listed] == ["htsget on the cluster"]
    assert secret not in json.dumps(listed)
    assert "token" not in listed[0]
    assert _bearer(secret).get("/api/v1/me/").json()["email"] == "researcher@example.org"


def test_tokens_creation_with_a_token_is_refused(researcher: User) -> None:
    response = _bearer(api_token_for(researcher, "write")).post(
        TOKENS, {"name": "another", "scope": "read"}, format="json"
    )

    assert _problem(response) == (
        403,
        "token_creates_token",
        "API tokens are created on your account page (or by the API with your signed-in "
        "browser session), never with another token.",
    )
    assert ApiToken.objects.filter(user=researcher).count() == 1


def test_tokens_creation_default_expiry_is_90_days(researcher: User) -> None:
    response = signed_in_client(researcher).post(
        TOKENS, {"name": "laptop", "scope": "read"}, content_type="application/json"
    )

    assert response.status_code == 201
    token = ApiToken.objects.get(user=researcher)
    assert (token.expires_at - token.created_at).days == 90


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "", "scope": "read"}, {"name": ["This field may not be blank."]}),
        (
            {"name": "x", "scope": "admin"},
            {"scope": ['"admin" is not a valid choice.']},
        ),
        (
            {"name": "x", "scope": "read", "expires_in_days": 366},
            {"expires_in_days": ["A token lasts from 1 to 365 days."]},
        ),
        (
            {"name": "x", "scope": "read", "expires_in_days": 0},
            {"expires_in_days": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_tokens_invalid_input_is_400_with_the_fields(
    researcher: User, data: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = signed_in_client(researcher).post(TOKENS, data, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert ApiToken.objects.count() == 0


def test_tokens_cap_of_working_tokens_is_409(researcher: User, settings: Any) -> None:
    settings.CUSTODIAN_API_TOKEN_MAX_ACTIVE = 2
    client = signed_in_client(researcher)
    for name in ("one", "two"):
        response = client.post(
            TOKENS, {"name": name, "scope": "read"}, content_type="application/json"
        )
        assert response.status_code == 201

    response = client.post(
        TOKENS, {"name": "three", "scope": "read"}, content_type="application/json"
    )

    assert _problem(response) == (
        409,
        "too_many_tokens",
        "You already have 2 working API tokens, the most one person may hold. Revoke one you "
        "no longer use, then create the new one.",
    )
    first = ApiToken.objects.get(name="one")
    assert client.delete(f"{TOKENS}{first.pk}/").status_code == 204
    response = client.post(
        TOKENS, {"name": "three", "scope": "read"}, content_type="application/json"
    )
    assert response.status_code == 201


def test_tokens_expired_ones_do_not_count_towards_the_cap(researcher: User, settings: Any) -> None:
    settings.CUSTODIAN_API_TOKEN_MAX_ACTIVE = 1
    api_token_for(researcher)
    ApiToken.objects.update(
        created_at=datetime(2026, 1, 1, tzinfo=UTC), expires_at=datetime(2026, 2, 1, tzinfo=UTC)
    )

    response = signed_in_client(researcher).post(
        TOKENS, {"name": "new", "scope": "read"}, content_type="application/json"
    )

    assert response.status_code == 201


def test_tokens_revoked_with_delete_then_401(researcher: User) -> None:
    secret = api_token_for(researcher, "write")
    token = ApiToken.objects.get(user=researcher)
    client = _bearer(secret)

    response = client.delete(f"{TOKENS}{token.pk}/")

    assert response.status_code == 204
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.object_type, event.object_id) == (
        researcher,
        "portal.apitoken",
        str(token.pk),
    )
    assert event.after == {"name": "test", "prefix": secret[:12]}
    assert _problem(client.get("/api/v1/me/"))[:2] == (401, "token_revoked")
    listed = signed_in_client(researcher).get(TOKENS).json()
    assert listed[0]["state"] == "revoked"
    assert listed[0]["revoked_at"] is not None


def test_tokens_revoking_twice_is_409(researcher: User) -> None:
    api_token_for(researcher)
    token = ApiToken.objects.get(user=researcher)
    client = signed_in_client(researcher)
    assert client.delete(f"{TOKENS}{token.pk}/").status_code == 204

    response = client.delete(f"{TOKENS}{token.pk}/")

    assert _problem(response) == (409, "already_revoked", "The token “test” was already revoked.")


def test_tokens_someone_elses_token_cannot_be_revoked(researcher: User, outsider: User) -> None:
    victim_secret = api_token_for(researcher)
    victim = ApiToken.objects.get(user=researcher)

    for client in (signed_in_client(outsider), _bearer(api_token_for(outsider))):
        response = client.delete(f"{TOKENS}{victim.pk}/")

        assert _problem(response) == (404, "not_found", "There is no such API token among yours.")
    assert ApiToken.objects.get(pk=victim.pk).revoked_at is None
    assert _bearer(victim_secret).get("/api/v1/me/").status_code == 200
    listed = signed_in_client(outsider).get(TOKENS).json()
    assert [token["id"] for token in listed] == [ApiToken.objects.get(user=outsider).pk]


def test_tokens_creation_with_the_session_needs_the_csrf_token(researcher: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)

    response = client.post(TOKENS, {"name": "x", "scope": "read"}, content_type="application/json")

    assert response.status_code == 403
    assert ApiToken.objects.count() == 0
