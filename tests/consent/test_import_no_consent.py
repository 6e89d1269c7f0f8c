"""A CSV import enrols participants and never gives consent for them: no record, and a file
that carries answers to consent choices is refused, line and column named, nothing enrolled."""

from __future__ import annotations

import pytest

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant
from consent.services import ParticipantImportError, participants_import
from portal.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_import_gives_no_consent(steward: User, version: ConsentVersion) -> None:
    content = (
        b"study_id,email,full_name,language,date_of_birth\nS-1,ann@example.org,Ann Jones,en,\n"
    )

    participants_import(actor=steward, content=content)

    assert Participant.objects.filter(study_id="S-1").exists()
    assert not ConsentRecord.objects.exists()
    assert not CurrentConsent.objects.exists()


def test_import_with_consent_answers_is_refused(steward: User, version: ConsentVersion) -> None:
    # "general" and "recontact" are choices of the published version (tests/consent/conftest).
    content = (
        b"study_id,email,full_name,language,date_of_birth,general,recontact\n"
        b"S-1,ann@example.org,Ann Jones,en,,yes,yes\n"
    )

    with pytest.raises(ParticipantImportError) as refused:
        participants_import(actor=steward, content=content)

    assert [str(problem) for problem in refused.value.problems] == [
        "Line 1: consent choices are never imported (columns general, recontact): each "
        "participant answers every question themselves when they sign in."
    ]
    assert not Participant.objects.filter(study_id="S-1").exists()
    assert not ConsentRecord.objects.exists()
    assert not AuditEvent.objects.filter(action="participant.import").exists()


def test_a_column_that_is_no_choice_is_still_unknown(
    steward: User, version: ConsentVersion
) -> None:
    content = b"study_id,email,full_name,language,date_of_birth,colour\nS-1,a@example.org,A,en,,\n"

    with pytest.raises(ParticipantImportError) as refused:
        participants_import(actor=steward, content=content)

    assert [str(problem) for problem in refused.value.problems] == [
        "Line 1: unknown column colour. The columns are study_id, email, full_name, language, "
        "date_of_birth, and optionally proxy_email and proxy_name."
    ]
