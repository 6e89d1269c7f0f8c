"""The portal's own FHIR CodeSystem, served at its canonical URL to anyone: every code a
Consent uses that DUO does not cover is defined there."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from fhir.resources.R4B.codesystem import CodeSystem

from consent.models import ConsentVersion, Participant
from tests.consent.conftest import give

pytestmark = pytest.mark.django_db

PATH = "/fhir/CodeSystem/custodian-consent"
CODES = [
    "general-research",
    "health-research",
    "ancestry-research",
    "commercial-use",
    "international-use",
    "recontact",
    "return-of-results",
    "additional-findings",
    "sample-storage",
    "answer-yes",
    "answer-no",
    "answer-ask",
    "not-asked",
    "no-further-contact",
    "no-further-access",
    "no-further-use",
]


def test_code_system_is_served_to_anyone_at_its_canonical_url() -> None:
    response = Client().get(PATH)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert "public" in response["Cache-Control"]
    resource = response.json()
    CodeSystem.model_validate(resource)
    assert resource["resourceType"] == "CodeSystem"
    assert resource["id"] == "custodian-consent"
    assert resource["url"] == f"{settings.SITE_URL}{PATH}"
    assert resource["status"] == "active"
    assert resource["content"] == "complete"
    assert resource["caseSensitive"] is True
    assert [c["code"] for c in resource["concept"]] == CODES
    assert resource["count"] == 16
    assert all(c["display"] and c["definition"] for c in resource["concept"])
    ask = next(c for c in resource["concept"] if c["code"] == "answer-ask")
    assert ask["display"] == "Ask me each time"


def test_every_own_code_of_a_consent_is_defined(
    enrolled: Participant, version: ConsentVersion, sign_in: object
) -> None:
    give(enrolled, version)
    client = sign_in(enrolled.user)  # type: ignore[operator]
    defined = {c["code"] for c in Client().get(PATH).json()["concept"]}

    consent = client.get("/api/v1/consent/me/fhir/").json()

    url = f"{settings.SITE_URL}{PATH}"
    used = {
        coding["code"]
        for provision in consent["provision"]["provision"]
        for concept in provision.get("code", [])
        for coding in concept["coding"]
        if coding["system"] == url
    }
    assert used
    assert used <= defined


def test_code_system_is_read_only() -> None:
    assert Client().post(PATH, {}).status_code == 405
