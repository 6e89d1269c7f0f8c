from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from consent.models import Channel, ConsentRecord, ConsentVersion, Participant
from consent.services import (
    consent_document_create,
    consent_record,
    consent_version_create,
    consent_version_publish,
    proxy_link,
    proxy_majority_handover,
)
from portal.ledger import ledger_verifier
from portal.models import Role, User
from portal.signed_note import checkpoint_open
from tests.factories import UserFactory
from tests.portal import rfc9162

CHOICES: list[dict[str, Any]] = [
    {
        "key": "general",
        "question": "May your data be used for any research?",
        "meaning": "general_research",
        "allowed_answers": ["yes", "no"],
    },
    {
        "key": "health",
        "question": "May your data be used for health research?",
        "meaning": "health_research",
        "allowed_answers": ["yes", "no"],
    },
    {
        "key": "ancestry",
        "question": "May your data be used for ancestry research?",
        "meaning": "ancestry_research",
        "allowed_answers": ["yes", "no", "ask"],
    },
    {
        "key": "commercial",
        "question": "May companies use your data?",
        "meaning": "commercial_use",
        "allowed_answers": ["yes", "no", "ask"],
    },
    {
        "key": "abroad",
        "question": "May researchers outside the UK use your data?",
        "meaning": "international_use",
        "allowed_answers": ["yes", "no"],
    },
    {
        "key": "recontact",
        "question": "May we contact you again?",
        "meaning": "recontact",
        "allowed_answers": ["yes", "no"],
        "recommended_answer": "yes",
    },
]
ALL_YES = {c["key"]: "yes" for c in CHOICES}
QUESTIONS = [
    {
        "text": "Can you withdraw at any time?",
        "options": ["Yes", "No"],
        "correct_option": 0,
        "explanation": "You can withdraw whenever you like, without giving a reason.",
    },
]


def make_version(
    steward: User,
    *,
    number: int = 1,
    choices: list[dict[str, Any]] | None = None,
    document: Any = None,
    language: str = "en",
) -> ConsentVersion:
    document = document or consent_document_create(
        actor=steward, name="Main study consent", country="GB"
    )
    return consent_version_create(
        actor=steward,
        document=document,
        number=number,
        language=language,
        title=f"Main study consent, version {number}",
        sections=[{"heading": "Why we ask", "body": "We study DNA to understand disease."}],
        questions=QUESTIONS,
        choices=choices if choices is not None else CHOICES,
    )


@pytest.fixture
def version(steward: User) -> ConsentVersion:
    return consent_version_publish(actor=steward, version=make_version(steward))


@pytest.fixture
def enrolled(participant: User) -> Participant:
    return participant.participant


def give(
    participant: Participant,
    version: ConsentVersion,
    answers: dict[str, str] | None = None,
    *,
    sequence: int = 0,
) -> Any:
    return consent_record(
        actor=participant.user,
        participant=participant,
        version=version,
        answers=answers or ALL_YES,
        signature=participant.user.full_name,
        channel=Channel.WEB,
        expected_sequence=sequence,
    )


# --- a child, their guardian, and the handover at coming of age --------------------------------


def born_years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


@pytest.fixture
def child(enrolled: Participant) -> Participant:
    enrolled.date_of_birth = born_years_ago(10)
    enrolled.save(update_fields=["date_of_birth"])
    return enrolled


@pytest.fixture
def guardian(steward: User, child: Participant) -> User:
    proxy = UserFactory(email="guardian@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(actor=steward, participant=child, email=proxy.email, full_name=proxy.full_name)
    return proxy


GUARDIAN_ANSWERS = {**ALL_YES, "ancestry": "ask", "abroad": "no"}


@pytest.fixture
def handed_over(child: Participant, guardian: User, version: ConsentVersion) -> Participant:
    """Pat, whose guardian Gwen consented for them, has just come of age."""
    consent_record(
        actor=guardian,
        participant=child,
        version=version,
        answers=GUARDIAN_ANSWERS,
        signature=guardian.full_name,
        channel=Channel.WEB,
        expected_sequence=0,
        proxy=guardian,
        receipt=False,
    )
    child.date_of_birth = born_years_ago(18)
    child.save(update_fields=["date_of_birth"])
    assert proxy_majority_handover(participant=child) == 1
    return child


def assert_record_proof(proof: dict[str, Any], record: ConsentRecord) -> None:
    """A record's proof (the check page's data, the downloaded file) checked as an outsider
    would: the entry names the record and its hash, the checkpoint's signature verifies with
    the published key, and the inclusion path leads to its root by RFC 9162's own steps."""
    assert proof["record_id"] == record.pk
    assert proof["record_hash"] == record.record_hash
    entry = json.loads(proof["entry"])
    assert entry["object_type"] == "consent.consentrecord"
    assert entry["object_id"] == str(record.pk)
    assert entry["after"]["record_hash"] == record.record_hash
    checkpoint = checkpoint_open(proof["checkpoint"], ledger_verifier())
    assert proof["key"] == ledger_verifier().key
    assert checkpoint.size == proof["tree_size"]
    assert rfc9162.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        rfc9162.leaf(proof["entry"].encode()),
        [bytes.fromhex(h) for h in proof["inclusion_path"]],
        checkpoint.root_hash,
    )
