from __future__ import annotations

from typing import Any

import pytest

from consent.models import Channel, ConsentVersion, Participant
from consent.services import (
    consent_document_create,
    consent_record,
    consent_version_create,
    consent_version_publish,
)
from portal.models import User

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
