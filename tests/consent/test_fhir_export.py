"""The FHIR R4 Consent of a record shows every choice, every answer (yes, no, ask me each
time), what was never asked, every withdrawal level and a proxy; valid for fhir.resources
R4B, and every code written out here (fhir.resources does not check codes: STACK.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from fhir.resources.R4B.consent import Consent
from rest_framework.test import APIClient

from consent.models import ConsentVersion, Participant, WithdrawalLevel
from consent.services import (
    consent_record,
    consent_version_publish,
    consent_withdraw,
    proxy_link,
)
from portal.models import ApiTokenScope, Role, User
from tests.consent.conftest import give, make_version
from tests.factories import UserFactory, api_token_for

pytestmark = pytest.mark.django_db

OWN = f"{settings.SITE_URL}/fhir/CodeSystem/custodian-consent"
DUO = "http://purl.obolibrary.org/obo/duo.owl"
ISO = "urn:iso:std:iso:3166"

# One choice of each meaning the portal knows.
EVERY_CHOICE: list[dict[str, Any]] = [
    {"key": "general", "meaning": "general_research", "question": "Any research?"},
    {"key": "health", "meaning": "health_research", "question": "Health research?"},
    {"key": "ancestry", "meaning": "ancestry_research", "question": "Ancestry research?"},
    {"key": "commercial", "meaning": "commercial_use", "question": "Companies?"},
    {"key": "abroad", "meaning": "international_use", "question": "Outside the UK?"},
    {"key": "recontact", "meaning": "recontact", "question": "Contact you again?"},
    {"key": "results", "meaning": "return_of_results", "question": "Your results?"},
    {"key": "findings", "meaning": "additional_findings", "question": "Other findings?"},
    {"key": "storage", "meaning": "sample_storage", "question": "Store samples?"},
]
for _choice in EVERY_CHOICE:
    _choice["allowed_answers"] = ["yes", "no", "ask"]
EVERY_YES = {c["key"]: "yes" for c in EVERY_CHOICE}


def get(user: User, path: str):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user, ApiTokenScope.READ)}")
    return client.get(path)


def _codes(provision: dict[str, Any]) -> list[tuple[str, str]]:
    """(system, code) of every coding in `code`, then every `purpose`, with short systems."""
    short = {OWN: "own", DUO: "duo", ISO: "iso"}
    codings = [c for concept in provision.get("code", []) for c in concept["coding"]]
    codings += provision.get("purpose", [])
    return [(short[c["system"]], c["code"]) for c in codings]


def _summary(resource: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]], list[str]]]:
    return [
        (
            p["type"],
            _codes(p),
            [a["coding"][0]["code"] for a in p.get("action", [])],
        )
        for p in resource["provision"].get("provision", [])
    ]


def _valid(resource: dict[str, Any]) -> dict[str, Any]:
    Consent.model_validate(resource)
    assert resource["resourceType"] == "Consent"
    assert resource["scope"]["coding"][0]["code"] == "research"
    assert resource["category"][0]["coding"][0]["code"] == "research"
    return resource


@pytest.fixture
def every(steward: User) -> ConsentVersion:
    document_version = make_version(steward, choices=EVERY_CHOICE)
    return consent_version_publish(actor=steward, version=document_version)


def test_every_choice_and_answer_has_its_codes(
    enrolled: Participant, every: ConsentVersion
) -> None:
    give(
        enrolled,
        every,
        {
            "general": "no",
            "health": "yes",
            "ancestry": "ask",
            "commercial": "ask",
            "abroad": "no",
            "recontact": "yes",
            "results": "no",
            "findings": "ask",
            "storage": "yes",
        },
    )

    response = get(enrolled.user, "/api/v1/consent/me/fhir/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    resource = _valid(response.json())
    assert resource["status"] == "active"
    assert resource["provision"]["type"] == "permit"
    assert _summary(resource) == [
        ("deny", [("own", "general-research"), ("own", "answer-no"), ("duo", "DUO:0000042")], []),
        ("permit", [("own", "health-research"), ("own", "answer-yes"), ("duo", "DUO:0000006")], []),
        # "Ask me each time": not permitted without asking, and not a "no" either.
        ("deny", [("own", "ancestry-research"), ("own", "answer-ask"), ("duo", "DUO:0000011")], []),
        # Use stays permitted, limited to non-commercial use until the participant says yes.
        ("permit", [("own", "commercial-use"), ("own", "answer-ask"), ("duo", "DUO:0000018")], []),
        (
            "permit",
            [
                ("own", "international-use"),
                ("own", "answer-no"),
                ("iso", "GB"),
                ("duo", "DUO:0000022"),
            ],
            [],
        ),
        ("permit", [("own", "recontact"), ("own", "answer-yes")], []),
        ("deny", [("own", "return-of-results"), ("own", "answer-no")], []),
        ("deny", [("own", "additional-findings"), ("own", "answer-ask")], []),
        ("permit", [("own", "sample-storage"), ("own", "answer-yes")], []),
    ]
    # The question as the participant read it, beside its code.
    first = resource["provision"]["provision"][0]["code"][0]
    assert first["text"] == "Any research?"
    assert first["coding"][0]["display"] == "Any research"


def test_yes_to_companies_and_abroad_leaves_no_restriction(
    enrolled: Participant, every: ConsentVersion
) -> None:
    give(enrolled, every, EVERY_YES)

    resource = _valid(get(enrolled.user, "/api/v1/consent/me/fhir/").json())

    assert _summary(resource)[3:5] == [
        ("permit", [("own", "commercial-use"), ("own", "answer-yes")], []),
        ("permit", [("own", "international-use"), ("own", "answer-yes")], []),
    ]


def test_what_the_form_never_asked_stays_restricted(enrolled: Participant, steward: User) -> None:
    narrow = [c for c in EVERY_CHOICE if c["key"] in {"health", "recontact"}]
    version = consent_version_publish(actor=steward, version=make_version(steward, choices=narrow))
    give(enrolled, version, {"health": "yes", "recontact": "no"})

    resource = _valid(get(enrolled.user, "/api/v1/consent/me/fhir/").json())

    assert _summary(resource) == [
        ("permit", [("own", "health-research"), ("own", "answer-yes"), ("duo", "DUO:0000006")], []),
        ("deny", [("own", "recontact"), ("own", "answer-no")], []),
        ("deny", [("own", "not-asked"), ("duo", "DUO:0000042")], []),
        ("deny", [("own", "not-asked"), ("duo", "DUO:0000011")], []),
        ("permit", [("own", "not-asked"), ("duo", "DUO:0000018")], []),
        ("permit", [("own", "not-asked"), ("iso", "GB"), ("duo", "DUO:0000022")], []),
    ]
    country = resource["provision"]["provision"][5]["code"][1]
    assert country == {"coding": [{"system": ISO, "code": "GB"}], "text": "GB"}


def _withdraw(participant: Participant, level: WithdrawalLevel) -> Any:
    return consent_withdraw(
        actor=participant.user,
        participant=participant,
        level=level,
        signature=participant.user.full_name,
        channel="web",
        expected_sequence=1,
    )


CONTACT_WITHDRAWN = [
    ("deny", [("own", "general-research"), ("own", "answer-no"), ("duo", "DUO:0000042")], []),
    ("permit", [("own", "health-research"), ("own", "answer-yes"), ("duo", "DUO:0000006")], []),
    ("permit", [("own", "ancestry-research"), ("own", "answer-yes"), ("duo", "DUO:0000011")], []),
    ("permit", [("own", "commercial-use"), ("own", "answer-no"), ("duo", "DUO:0000018")], []),
    ("permit", [("own", "international-use"), ("own", "answer-yes")], []),
    # Answered yes, denied since the withdrawal: each of these contacts the participant.
    ("deny", [("own", "recontact"), ("own", "answer-yes")], []),
    ("deny", [("own", "return-of-results"), ("own", "answer-yes")], []),
    ("deny", [("own", "additional-findings"), ("own", "answer-ask")], []),
    ("permit", [("own", "sample-storage"), ("own", "answer-yes")], []),
]


@pytest.mark.parametrize(
    ("level", "status", "top", "provisions"),
    [
        (
            WithdrawalLevel.NO_CONTACT,
            "active",
            "permit",
            [*CONTACT_WITHDRAWN, ("deny", [("own", "no-further-contact")], [])],
        ),
        (
            WithdrawalLevel.NO_ACCESS,
            "active",
            "permit",
            [*CONTACT_WITHDRAWN, ("deny", [("own", "no-further-access")], ["collect"])],
        ),
        (
            WithdrawalLevel.NO_USE,
            "inactive",
            "deny",
            [("deny", [("own", "no-further-use")], ["collect", "access", "use", "disclose"])],
        ),
    ],
)
def test_every_withdrawal_level_is_coded(
    enrolled: Participant,
    every: ConsentVersion,
    steward: User,
    level: WithdrawalLevel,
    status: str,
    top: str,
    provisions: list[Any],
) -> None:
    give(enrolled, every, {**EVERY_YES, "general": "no", "commercial": "no", "findings": "ask"})
    withdrawal = _withdraw(enrolled, level)

    current = _valid(get(enrolled.user, "/api/v1/consent/me/fhir/").json())
    record = _valid(get(steward, f"/api/v1/consent/records/{withdrawal.pk}/fhir/").json())

    for resource in (current, record):
        assert resource["status"] == status
        assert resource["provision"]["type"] == top
        assert _summary(resource) == provisions


def test_superseded_record_is_inactive(enrolled: Participant, every: ConsentVersion) -> None:
    first = give(enrolled, every, EVERY_YES)
    give(enrolled, every, {**EVERY_YES, "storage": "no"}, sequence=1)

    old = _valid(get(enrolled.user, f"/api/v1/consent/records/{first.pk}/fhir/").json())

    assert old["status"] == "inactive"
    assert old["provision"]["type"] == "permit"
    assert ("permit", [("own", "sample-storage"), ("own", "answer-yes")], []) in _summary(old)


def test_a_proxy_is_a_contained_related_person(
    enrolled: Participant, every: ConsentVersion, steward: User
) -> None:
    enrolled.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 10)
    enrolled.save()
    guardian = UserFactory(email="gwen@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(
        actor=steward,
        participant=enrolled,
        email=guardian.email,
        full_name=guardian.full_name,
        relationship="mother",
    )
    record = consent_record(
        actor=guardian,
        participant=enrolled,
        version=every,
        answers=EVERY_YES,
        signature=guardian.full_name,
        channel="web",
        expected_sequence=0,
        proxy=guardian,
    )

    resource = _valid(get(steward, f"/api/v1/consent/records/{record.pk}/fhir/").json())

    assert resource["performer"] == [{"reference": "#proxy", "display": "Gwen Guardian"}]
    (person,) = resource["contained"]
    assert person["resourceType"] == "RelatedPerson"
    assert person["id"] == "proxy"
    assert person["name"] == [{"text": "Gwen Guardian"}]
    assert person["patient"]["identifier"]["value"] == enrolled.study_id
    assert person["relationship"] == [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                    "code": "GUARD",
                    "display": "guardian",
                }
            ]
        },
        {"text": "mother"},
    ]


def test_own_consent_has_the_participant_as_performer(
    enrolled: Participant, every: ConsentVersion
) -> None:
    give(enrolled, every, EVERY_YES)

    resource = _valid(get(enrolled.user, "/api/v1/consent/me/fhir/").json())

    assert "contained" not in resource
    assert resource["performer"] == [resource["patient"]]
    assert resource["patient"]["identifier"]["value"] == enrolled.study_id
    assert resource["policy"][0]["uri"].endswith(f"/consent/versions/{every.pk}")


@pytest.mark.parametrize("persona", ["other_participant", "researcher", "outsider"])
def test_someone_elses_record_is_404(
    enrolled: Participant, version: ConsentVersion, persona: str, request: pytest.FixtureRequest
) -> None:
    record = give(enrolled, version)
    user: User = request.getfixturevalue(persona)

    response = get(user, f"/api/v1/consent/records/{record.pk}/fhir/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
