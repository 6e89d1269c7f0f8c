from __future__ import annotations

import pytest
from fhir.resources.R4B.consent import Consent
from rest_framework.test import APIClient

from consent.fhir import DUO_SYSTEM
from consent.models import ConsentVersion, Participant, WithdrawalLevel
from consent.services import consent_withdraw
from portal.models import ApiTokenScope, User
from tests.consent.conftest import ALL_YES, give
from tests.factories import api_token_for


def get(user: User, path: str):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user, ApiTokenScope.READ)}")
    return client.get(path)


def _purposes(resource: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {p["purpose"][0]["code"]: p["type"] for p in resource["provision"].get("provision", [])}


def test_current_consent_is_a_valid_fhir_consent(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version, {**ALL_YES, "general": "no", "abroad": "no"})

    response = get(enrolled.user, "/api/v1/consent/me/fhir/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    resource = response.json()
    Consent.model_validate(resource)  # structure; the codes are checked below (STACK.md)
    assert resource["status"] == "active"
    assert resource["scope"]["coding"][0]["code"] == "research"
    assert resource["category"][0]["coding"][0]["code"] == "research"
    assert resource["patient"]["identifier"]["value"] == enrolled.study_id
    assert resource["policy"][0]["uri"].endswith(f"/consent/versions/{version.pk}")
    assert resource["provision"]["type"] == "permit"
    assert _purposes(resource) == {
        "DUO:0000042": "deny",  # GRU
        "DUO:0000006": "permit",  # HMB
        "DUO:0000011": "permit",  # POA
        "DUO:0000022": "permit",  # GS: use limited to the country
    }
    assert {p["purpose"][0]["system"] for p in resource["provision"]["provision"]} == {DUO_SYSTEM}


def test_superseded_record_is_inactive_and_withdrawal_denies(
    enrolled: Participant, version: ConsentVersion, steward: User
) -> None:
    first = give(enrolled, version)
    withdrawal = consent_withdraw(
        actor=enrolled.user,
        participant=enrolled,
        level=WithdrawalLevel.NO_USE,
        signature=enrolled.user.full_name,
        channel="web",
        expected_sequence=1,
    )

    old = get(enrolled.user, f"/api/v1/consent/records/{first.pk}/fhir/").json()
    now = get(steward, f"/api/v1/consent/records/{withdrawal.pk}/fhir/").json()

    Consent.model_validate(old)
    Consent.model_validate(now)
    assert old["status"] == "inactive"
    assert now["status"] == "inactive"
    assert now["provision"] == {"type": "deny"}


@pytest.mark.parametrize("persona", ["other_participant", "researcher", "outsider"])
def test_someone_elses_record_is_404(
    enrolled: Participant, version: ConsentVersion, persona: str, request: pytest.FixtureRequest
) -> None:
    record = give(enrolled, version)
    user: User = request.getfixturevalue(persona)

    response = get(user, f"/api/v1/consent/records/{record.pk}/fhir/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
