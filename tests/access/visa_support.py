"""What the visa tests share: the site URL they expect, passports fetched through the views,
and verification with PyJWT against the JWKS the portal serves (never against the database)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.models import ApiTokenScope, User
from tests.factories import api_token_for

SITE = "https://custodian.example"
JWKS_PATH = "/ga4gh/jwks.json"
VISAS_PATH = "/ga4gh/passport/v1/visas"


@pytest.fixture
def site(settings: Any) -> str:
    settings.SITE_URL = SITE
    return SITE


def bearer_client(user: User) -> APIClient:
    client = APIClient()
    # Passports are reads: the narrowest scope is enough.
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user, ApiTokenScope.READ)}")
    return client


def passport_of(user: User) -> list[str]:
    response = bearer_client(user).get(VISAS_PATH)
    assert response.status_code == 200, response.content[:500]
    assert set(response.json()) == {"ga4gh_passport_v1"}
    return response.json()["ga4gh_passport_v1"]


def served_jwks() -> dict[str, Any]:
    response = Client().get(JWKS_PATH)
    assert response.status_code == 200
    return response.json()


def verify_with_jwks(token: str, *, issuer: str = SITE) -> dict[str, Any]:
    """PyJWT's verification against the key the served JWKS lists under the visa's kid."""
    header = jwt.get_unverified_header(token)
    assert header["jku"] == f"{SITE}{JWKS_PATH}"
    assert header["typ"] == "JWT"
    matching = [k for k in served_jwks()["keys"] if k["kid"] == header["kid"]]
    assert len(matching) == 1, f"kid {header['kid']} is not in the served JWKS"
    key = jwt.PyJWK(matching[0])
    assert header["alg"] == matching[0]["alg"]
    return jwt.decode(
        token,
        key.key,
        algorithms=[matching[0]["alg"]],
        issuer=issuer,
        options={"require": ["iss", "sub", "iat", "exp", "jti"]},
    )


def visas_by_type(user: User) -> dict[str, list[dict[str, Any]]]:
    """Every visa of the user, verified, grouped by GA4GH visa type."""
    found: dict[str, list[dict[str, Any]]] = {}
    for token in passport_of(user):
        claims = verify_with_jwks(token)
        found.setdefault(claims["ga4gh_visa_v1"]["type"], []).append(claims)
    return found
