"""Who gets which answer from the passport endpoints: 401 without (valid) credentials, 403 for
someone else's visas unless steward or committee member, 404 for a missing user; all as
problem+json with a plain message, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from portal.models import User
from tests.access.api_support import problem
from tests.access.visa_support import bearer_client, site  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]

VISAS = "/ga4gh/passport/v1/visas"
OTHERS = (
    "Only data stewards and data access committee members see other people's visas; "
    "your own are at /ga4gh/passport/v1/visas."
)


def _client(authorization: str | None = None) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def test_anonymous_gets_401_asking_for_a_bearer_token(researcher: User) -> None:
    for path in (VISAS, f"/ga4gh/passport/v1/users/{researcher.pk}/visas"):
        response = _client().get(path)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        body = problem(response)
        assert body["detail"] == "Authentication credentials were not provided."


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_unknown_token_gets_401(researcher: User, scheme: str) -> None:
    response = _client(f"{scheme} cus_{'A' * 43}").get(VISAS)

    assert response.status_code == 401
    assert problem(response)["detail"] == (
        "This API token is not valid. Check that you copied all of it, or create a new one "
        "on your account page."
    )


def test_token_of_a_disabled_account_gets_401(researcher: User) -> None:
    client = bearer_client(researcher)
    client.raise_request_exception = False
    User.objects.filter(pk=researcher.pk).update(is_active=False)

    response = client.get(VISAS)

    assert response.status_code == 401
    assert problem(response)["detail"] == (
        "This account is deactivated, so its API tokens no longer work."
    )


def test_malformed_authorization_gets_401() -> None:
    response = _client("Bearer two words").get(VISAS)

    assert response.status_code == 401
    assert problem(response)["detail"] == (
        "Send the token as “Authorization: Bearer <token>”: this header has no token, or a "
        "space inside it."
    )


@pytest.mark.parametrize("persona", ["researcher", "participant", "outsider"])
def test_others_visas_are_403_for_researchers_and_participants(
    persona: str, request: pytest.FixtureRequest, steward: User
) -> None:
    asker: User = request.getfixturevalue(persona)
    client = bearer_client(asker)
    client.raise_request_exception = False

    for target in (steward.pk, asker.pk, 999_999):
        response = client.get(f"/ga4gh/passport/v1/users/{target}/visas")

        assert response.status_code == 403
        assert problem(response)["detail"] == OTHERS


@pytest.mark.parametrize("persona", ["steward", "dac_member", "dac_chair"])
def test_missing_user_is_404_for_those_who_may_look(
    persona: str, request: pytest.FixtureRequest
) -> None:
    client = bearer_client(request.getfixturevalue(persona))
    client.raise_request_exception = False

    response = client.get("/ga4gh/passport/v1/users/999999/visas")

    assert response.status_code == 404
    assert problem(response)["detail"] == "There is no user 999999."


def test_session_of_a_steward_without_second_factor_is_refused_plainly(
    steward: User, settings: Any
) -> None:
    from django.test import Client

    from tests.factories import PASSWORD

    client = Client(raise_request_exception=False)
    client.post("/account/sign-in/", {"email": steward.email, "password": PASSWORD})

    response = client.get(VISAS)

    assert response.status_code == 403
    assert problem(response)["detail"] == (
        "Confirm your authenticator code in the browser first, or use an API token."
    )


def test_public_documents_answer_404_for_missing_ones(client: Any) -> None:
    assert client.get("/ga4gh/dacs/999999").status_code == 404
    assert client.get("/ga4gh/agreements/999999").status_code == 404
    assert client.post("/ga4gh/jwks.json").status_code == 405
