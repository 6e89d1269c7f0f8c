"""Importing participants from CSV: all or nothing, invitations emailed after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from consent.models import Participant, ParticipantProxy
from consent.services import ParticipantImportError, participants_import
from consent.services import imports as import_module
from portal.models import AuditEvent, Role, User
from tests.factories import ParticipantFactory

CHILD = (timezone.localdate() - dt.timedelta(days=365 * 9)).isoformat()
GOOD = (
    "study_id,email,full_name,language,date_of_birth,proxy_email,proxy_name\n"
    "S-1,ann@example.org,Ann Jones,en,1980-04-12,,\n"
    f"S-2,tom@example.org,Tom Bryn,en,{CHILD},rhian@example.org,Rhian Bryn\n"
).encode()


def test_import_enrols_everyone_and_links_the_guardian(steward: User) -> None:
    result = participants_import(actor=steward, content=GOOD)

    assert [p.study_id for p in result.participants] == ["S-1", "S-2"]
    assert result.proxies == 1
    ann = Participant.objects.get(study_id="S-1")
    assert (ann.user.email, ann.user.full_name, ann.user.roles) == (
        "ann@example.org",
        "Ann Jones",
        [Role.PARTICIPANT],
    )
    assert ann.date_of_birth == dt.date(1980, 4, 12)
    assert ann.enrolled_by == steward
    assert not ann.user.is_active
    link = ParticipantProxy.objects.get()
    assert link.participant.study_id == "S-2"
    assert (link.proxy.email, link.proxy.roles) == ("rhian@example.org", [Role.PROXY])


def test_import_emails_invitations_only_after_commit(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        participants_import(actor=steward, content=GOOD)

    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann@example.org",
        "rhian@example.org",
        "tom@example.org",
    ]
    assert {m.subject for m in mail.outbox} == {"Your invitation to Custodian"}
    assert all("/account/activate/" in m.body for m in mail.outbox)


def test_import_invitations_are_sent_by_the_email_task(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        participants_import(actor=steward, content=GOOD)

    assert len(mail.outbox) == 3


def test_import_audits_the_file(steward: User) -> None:
    result = participants_import(actor=steward, content=GOOD)

    event = AuditEvent.objects.get(action="participant.import")
    assert event.actor == steward
    assert event.after == {
        "participants": 2,
        "proxies": 1,
        "sha256": result.sha256,
        "first": "S-1",
        "last": "S-2",
    }
    assert AuditEvent.objects.filter(action="participant.enrol").count() == 2
    assert AuditEvent.objects.filter(action="proxy.link").count() == 1


def test_import_with_one_bad_row_imports_nothing(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    content = GOOD + b"S-3,bad-email,Bo,en,,,\n"

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ParticipantImportError) as caught,
    ):
        participants_import(actor=steward, content=content)

    assert [str(p) for p in caught.value.problems] == [
        "Line 4: email “bad-email” is not a valid email address."
    ]
    assert caught.value.message == "The file has 1 problem: nothing was imported."
    assert Participant.objects.count() == 0
    assert User.objects.exclude(pk=steward.pk).count() == 0
    assert mail.outbox == []


def test_import_rolls_back_everything_when_a_row_fails_at_import_time(
    steward: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # Someone enrols S-2 between the check and the import: the whole file is refused.
    real_check = import_module.participants_import_check

    def check_then_race(*, content: bytes) -> Any:
        result = real_check(content=content)
        ParticipantFactory(study_id="S-2")
        return result

    monkeypatch.setattr(import_module, "participants_import_check", check_then_race)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ParticipantImportError) as caught,
    ):
        participants_import(actor=steward, content=GOOD)

    assert [str(p) for p in caught.value.problems] == [
        "Line 3: The study ID S-2 is already enrolled."
    ]
    assert not Participant.objects.filter(study_id="S-1").exists()
    assert not User.objects.filter(email__in=["ann@example.org", "rhian@example.org"]).exists()
    assert not AuditEvent.objects.filter(action__in=["participant.import", "proxy.link"]).exists()
    assert mail.outbox == []
