from __future__ import annotations

from typing import Any

from django.core import mail

from consent.models import ConsentVersion, Participant
from consent.services import consent_version_publish
from portal.ledger import ledger_seal, ledger_tree_verify
from portal.models import AuditEvent, User
from tests.consent.conftest import CHOICES, give, make_version
from tests.factories import ParticipantFactory


def test_publishing_a_changed_version_emails_everyone_in_batches(
    steward: User,
    version: ConsentVersion,
    settings: Any,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.CUSTODIAN_RECONSENT_BATCH = 2
    people = [ParticipantFactory() for _ in range(5)]
    for person in people:
        give(person, version)
    changed = [{**c, "allowed_answers": ["yes", "no"]} for c in CHOICES]

    with django_capture_on_commit_callbacks(execute=True):
        newer = consent_version_publish(
            actor=steward,
            version=make_version(steward, number=2, document=version.document, choices=changed),
        )

    assert newer.requires_reconsent
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.user.email for p in people)
    assert {m.subject for m in mail.outbox} == {
        "Please review the new version of your consent form"
    }
    assert "stay in force" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="consent_version.notify_reconsent").count() == 3
    assert ledger_seal().tree_size == AuditEvent.objects.count()
    assert ledger_tree_verify().problem is None


def test_unchanged_choices_send_nothing(
    steward: User,
    version: ConsentVersion,
    enrolled: Participant,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    give(enrolled, version)

    with django_capture_on_commit_callbacks(execute=True):
        consent_version_publish(
            actor=steward, version=make_version(steward, number=2, document=version.document)
        )

    assert mail.outbox == []
