"""What the access API tests share: the base path, token clients, problem+json bodies."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.test import APIClient

from portal.models import ApiTokenScope, User
from tests.factories import api_token_for

API = "/api/v1/access"
PROBLEM = "application/problem+json"


def api_client(user: User | None = None, scope: str = ApiTokenScope.WRITE) -> APIClient:
    """A client authenticated by an API token of that scope (anonymous without a user)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user, scope)}")
    return client


def problem(response: Any) -> dict[str, Any]:
    """The problem+json body of a refusal."""
    assert response["Content-Type"] == PROBLEM, response.content[:300]
    return json.loads(response.content)


def refusal(response: Any) -> tuple[int, str]:
    return response.status_code, problem(response)["detail"]
