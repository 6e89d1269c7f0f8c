"""Emails and receipts in the reader's language: a Welsh participant's invitation and
receipt in Welsh, an English one's in English, a guardian addressed as the guardian."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from consent.models import Channel, ConsentRecord, ConsentVersion, Participant
from consent.receipts import receipt_html
from consent.services import consent_record, participant_enrol, proxy_link
from portal.models import Role, User
from tests.consent.conftest import ALL_YES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _enrol(steward: User, language: str, email: str) -> Participant:
    return participant_enrol(
        actor=steward,
        study_id=f"S-{language}",
        email=email,
        full_name="Fay Baker",
        language=language,
    )


def test_a_welsh_participants_invitation_is_in_welsh(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        participant = _enrol(steward, "cy", "fay@example.org")

    [message] = mail.outbox
    assert message.subject == "Eich gwahoddiad i Custodian"
    assert message.body.startswith("Helo Fay Baker,")
    assert "Yno gallwch weld a newid sut y gellir defnyddio eich data astudiaeth." in message.body
    assert "Mae'r ddolen yn ddilys am 14 diwrnod" in message.body
    assert participant.user.language == "cy"


def test_an_english_participants_invitation_is_in_english(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _enrol(steward, "en", "fay@example.org")

    [message] = mail.outbox
    assert message.subject == "Your invitation to Custodian"
    assert "There you can see and change how your study data may be used." in message.body


def test_a_language_the_portal_does_not_offer_writes_in_english(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        participant = _enrol(steward, "fr", "fay@example.org")

    assert mail.outbox[0].subject == "Your invitation to Custodian"
    assert participant.user.language == ""


def _consent(participant: Participant, version: ConsentVersion, **extra: Any) -> ConsentRecord:
    signer = extra.get("proxy") or participant.user
    return consent_record(
        actor=signer,
        participant=participant,
        version=version,
        answers=ALL_YES,
        signature=signer.full_name,
        channel=Channel.WEB,
        expected_sequence=0,
        **extra,
    )


def test_a_welsh_participants_receipt_email_and_pdf_are_in_welsh(
    enrolled: Participant, version: ConsentVersion, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(pk=enrolled.user_id).update(language="cy")
    enrolled.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        record = _consent(enrolled, version)

    [message] = mail.outbox
    assert message.subject == "Eich derbynneb cydsyniad"
    assert message.body.startswith("Helo Pat Participant,")
    assert 'Mae eich dewisiadau cydsynio ar gyfer "Main study consent, version 1"' in message.body
    assert "Mae'r dderbynneb wedi'i hatodi fel PDF." in message.body
    html = receipt_html(record)
    assert '<html lang="cy">' in html
    assert "<h1>Derbynneb cydsyniad</h1>" in html
    assert "<dt>Beth a gofnodwyd</dt><dd>Cydsyniad cyntaf</dd>" in html
    # The English consent form's own wording stays English, marked as such.
    assert '<td lang="en">May companies use your data?</td><td>Ie</td>' in html


def test_an_english_participants_receipt_is_in_english(
    enrolled: Participant, version: ConsentVersion, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        record = _consent(enrolled, version)

    assert mail.outbox[0].subject == "Your consent receipt"
    html = receipt_html(record)
    assert '<html lang="en">' in html
    assert "<tr><td>May companies use your data?</td><td>Yes</td></tr>" in html


def test_a_guardian_is_written_to_as_the_guardian_in_their_language(
    steward: User,
    enrolled: Participant,
    version: ConsentVersion,
    django_capture_on_commit_callbacks: Any,
) -> None:
    enrolled.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 10)
    enrolled.save(update_fields=["date_of_birth"])
    guardian = UserFactory(email="gwen@example.org", full_name="Gwen Baker", role=Role.PROXY)
    User.objects.filter(pk=guardian.pk).update(language="cy")
    guardian.refresh_from_db()
    proxy_link(actor=steward, participant=enrolled, email=guardian.email, full_name="Gwen Baker")

    with django_capture_on_commit_callbacks(execute=True):
        record = _consent(enrolled, version, proxy=guardian)

    by_reader = {m.to[0]: m for m in mail.outbox}
    child, adult = by_reader["participant@example.org"], by_reader["gwen@example.org"]
    assert child.subject == "Your consent receipt"
    assert "Gwen Baker made this record as your guardian." in child.body
    assert adult.subject == "Derbynneb cydsyniad ar gyfer Pat Participant"
    assert "Rydych yn cael hwn fel gwarcheidwad Pat." in adult.body
    html = receipt_html(record)  # in the signer's (the guardian's) language
    assert (
        "Cydsyniad ar gyfer Pat Participant, a roddwyd gan Gwen Baker fel gwarcheidwad Pat." in html
    )
    assert "<dd>Gwen Baker (gwarcheidwad) ar ran Pat Participant</dd>" in html
    assert "<h2>Dewisiadau Pat</h2>" in html


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "There you can give, see and change consent for Fay Baker, as their guardian."),
        ("cy", "Yno gallwch roi, gweld a newid cydsyniad ar ran Fay Baker, fel eu gwarcheidwad."),
    ],
)
def test_a_new_guardians_invitation_names_the_child(
    steward: User, django_capture_on_commit_callbacks: Any, language: str, sentence: str
) -> None:
    child = _enrol(steward, language, "fay@example.org")
    child.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 10)
    child.save(update_fields=["date_of_birth"])
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        proxy_link(actor=steward, participant=child, email="gwen@example.org", full_name="Gwen")

    [message] = mail.outbox
    assert message.to == ["gwen@example.org"]
    assert sentence in message.body
