from __future__ import annotations

import re

import pytest

from consent.models import (
    Channel,
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    RecordKind,
)
from consent.services import ConsentError, StaleConsentError, consent_record
from portal.audit import GENESIS_HASH
from portal.models import AuditEvent
from tests.consent.conftest import ALL_YES, give, make_version


def test_first_consent_writes_record_projection_and_audit(
    enrolled: Participant, version: ConsentVersion
) -> None:
    record = give(enrolled, version, {**ALL_YES, "commercial": "no", "abroad": "no"})

    assert record.sequence == 1
    assert record.kind == RecordKind.CONSENT
    assert record.previous_hash == GENESIS_HASH
    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.record == record
    assert current.status == ConsentStatus.ACTIVE
    assert (current.permits_gru, current.permits_hmb, current.permits_poa) == (True, True, True)
    assert current.non_commercial_only is True
    assert current.in_country_only is True
    assert current.country == "GB"
    assert AuditEvent.objects.filter(action="consent.consent", object_id=str(record.pk)).exists()


def test_change_appends_chained_record(enrolled: Participant, version: ConsentVersion) -> None:
    first = give(enrolled, version)

    second = give(enrolled, version, {**ALL_YES, "general": "no"}, sequence=1)

    assert second.kind == RecordKind.CHANGE
    assert second.sequence == 2
    assert second.previous_hash == first.record_hash
    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.permits_gru is False
    assert current.permits_hmb is True
    assert current.sequence == 2


def test_ask_answer_does_not_permit(enrolled: Participant, version: ConsentVersion) -> None:
    give(enrolled, version, {**ALL_YES, "ancestry": "ask", "commercial": "ask"})

    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.permits_poa is False
    assert current.non_commercial_only is True
    assert current.answers["ancestry"] == "ask"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({**ALL_YES, "telepathy": "yes"}, "Unknown choices: telepathy."),
        (
            {k: v for k, v in ALL_YES.items() if k != "health"},
            "Please answer this question: “May your data be used for health research?”.",
        ),
        (
            {**ALL_YES, "general": "ask"},
            "“Ask me each time” is not an allowed answer to “May your data be used for any "
            "research?”; allowed: yes, no.",
        ),
        ({**ALL_YES, "general": "maybe"}, "“maybe” is not an allowed answer to “May your data"),
    ],
)
def test_bad_answers_are_refused_and_nothing_written(
    enrolled: Participant, version: ConsentVersion, answers: dict[str, str], message: str
) -> None:
    with pytest.raises(ConsentError, match=re.escape(message)):
        give(enrolled, version, answers)

    assert not ConsentRecord.objects.exists()
    assert not CurrentConsent.objects.exists()


@pytest.mark.parametrize(
    ("signature", "code"), [("", "signature_missing"), ("Someone Else", "signature_mismatch")]
)
def test_signature_must_be_the_account_name(
    enrolled: Participant, version: ConsentVersion, signature: str, code: str
) -> None:
    with pytest.raises(ConsentError) as error:
        consent_record(
            actor=enrolled.user,
            participant=enrolled,
            version=version,
            answers=ALL_YES,
            signature=signature,
            channel=Channel.WEB,
            expected_sequence=0,
        )

    assert error.value.code == code
    assert not ConsentRecord.objects.exists()


def test_signature_ignores_case_and_spacing(enrolled: Participant, version: ConsentVersion) -> None:
    name = "  " + enrolled.user.full_name.upper().replace(" ", "   ") + " "

    record = consent_record(
        actor=enrolled.user,
        participant=enrolled,
        version=version,
        answers=ALL_YES,
        signature=name,
        channel=Channel.WEB,
        expected_sequence=0,
    )

    assert record.signature == enrolled.user.full_name.upper()


def test_stale_form_is_refused_and_nothing_written(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)

    with pytest.raises(StaleConsentError, match="changed since this page was loaded"):
        give(enrolled, version, {**ALL_YES, "general": "no"}, sequence=0)

    assert ConsentRecord.objects.count() == 1
    assert CurrentConsent.objects.get(participant=enrolled).permits_gru is True


def test_unchanged_answers_are_refused(enrolled: Participant, version: ConsentVersion) -> None:
    give(enrolled, version)

    with pytest.raises(ConsentError, match="Nothing changed"):
        give(enrolled, version, sequence=1)


def test_draft_version_cannot_be_signed(enrolled: Participant, steward) -> None:  # type: ignore[no-untyped-def]
    draft = make_version(steward)

    with pytest.raises(StaleConsentError, match="no longer in force"):
        give(enrolled, draft)


def test_consent_to_new_version_is_reconsent(
    enrolled: Participant, version: ConsentVersion, steward
) -> None:  # type: ignore[no-untyped-def]
    from consent.services import consent_version_publish

    give(enrolled, version)
    newer = consent_version_publish(
        actor=steward, version=make_version(steward, number=2, document=version.document)
    )

    record = give(enrolled, newer, sequence=1)

    assert record.kind == RecordKind.RECONSENT
    assert CurrentConsent.objects.get(participant=enrolled).version == newer


def test_superseded_version_cannot_be_changed(
    enrolled: Participant, version: ConsentVersion, steward
) -> None:  # type: ignore[no-untyped-def]
    from consent.services import consent_version_publish

    give(enrolled, version)
    consent_version_publish(
        actor=steward, version=make_version(steward, number=2, document=version.document)
    )

    with pytest.raises(StaleConsentError, match="newer one was published"):
        give(enrolled, version, {**ALL_YES, "general": "no"}, sequence=1)
