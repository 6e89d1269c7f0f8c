"""Which `acr`/`amr` values count as a second factor (CUSTODIAN_OIDC_MFA_ACR/_AMR), and that
the session mark they leave vouches only for the person who signed in with them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from portal.models import User
from portal.oidc import MFA_SESSION_KEY, mfa_asserted
from tests.factories import PASSWORD

REFEDS_MFA = "https://refeds.org/profile/mfa"


@pytest.mark.parametrize(
    ("id_token", "expected"),
    [
        ({"amr": ["pwd", "mfa"]}, True),
        ({"amr": ["pwd"]}, False),
        ({"amr": ["pwd", "otp"]}, False),
        ({"amr": "mfa"}, False),
        ({"acr": REFEDS_MFA}, True),
        ({"acr": "https://refeds.org/profile/sfa"}, False),
        ({}, False),
    ],
)
def test_sso_mfa_by_default_settings(id_token: dict[str, Any], expected: bool) -> None:
    assert mfa_asserted(id_token) is expected


def test_sso_mfa_values_are_configurable(settings: Any) -> None:
    settings.CUSTODIAN_OIDC_MFA_AMR = ["otp", "hwk"]
    settings.CUSTODIAN_OIDC_MFA_ACR = ["urn:example:loa:3"]

    assert mfa_asserted({"amr": ["pwd", "otp"]}) is True
    assert mfa_asserted({"amr": ["hwk"]}) is True
    assert mfa_asserted({"amr": ["pwd", "mfa"]}) is False
    assert mfa_asserted({"acr": "urn:example:loa:3"}) is True
    assert mfa_asserted({"acr": REFEDS_MFA}) is False


def test_sso_mfa_mark_of_another_person_does_not_count(steward: User, dac_member: User) -> None:
    client = Client()
    client.post("/account/sign-in/", {"email": steward.email, "password": PASSWORD})
    session = client.session
    session[MFA_SESSION_KEY] = dac_member.pk
    session.save()

    assert client.get("/home/")["Location"] == "/account/otp/"
    assert client.get("/api/v1/me/").status_code == 403


def test_sso_mfa_mark_of_the_person_counts(steward: User) -> None:
    client = Client()
    client.post("/account/sign-in/", {"email": steward.email, "password": PASSWORD})
    session = client.session
    session[MFA_SESSION_KEY] = steward.pk
    session.save()

    assert client.get("/home/")["Location"] == "/datasets/steward/"
    assert client.get("/api/v1/me/").status_code == 200


def test_sso_link_needs_the_code_confirmed_first(steward: User, settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = "https://login.example.org/oidc"
    client = Client()
    client.post("/account/sign-in/", {"email": steward.email, "password": PASSWORD})

    response = client.post("/account/sso/link/")

    assert response.status_code == 302
    assert response["Location"] == "/account/otp/"
