from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail

from consent.models import Participant
from consent.services import ConsentError, participant_enrol
from portal.exceptions import PortalError
from portal.models import AuditEvent, Role, User
from tests.conftest import link_from_last_email
from tests.factories import ParticipantFactory, UserFactory


def _enrol(steward: User, **changes: Any) -> Participant:
    arguments: dict[str, Any] = {
        "actor": steward,
        "study_id": "STUDY-007",
        "email": "Jo.Bloggs@Example.org",
        "full_name": "Jo Bloggs",
        **changes,
    }
    return participant_enrol(**arguments)


def _nothing_written(study_id: str = "STUDY-007") -> None:
    assert not Participant.objects.filter(study_id=study_id).exists()
    assert not User.objects.filter(email="jo.bloggs@example.org").exists()
    assert not AuditEvent.objects.filter(action__in=["participant.enrol", "user.invite"]).exists()


def test_enrol_creates_participant_with_invited_account(steward: User) -> None:
    participant = _enrol(steward, language="cy", date_of_birth=dt.date(2012, 5, 1))

    participant.refresh_from_db()
    assert participant.study_id == "STUDY-007"
    assert participant.language == "cy"
    assert participant.date_of_birth == dt.date(2012, 5, 1)
    assert participant.enrolled_by == steward
    user = participant.user
    assert user.email == "jo.bloggs@example.org"
    assert user.full_name == "Jo Bloggs"
    assert user.roles == [Role.PARTICIPANT]
    assert not user.is_active
    assert not user.email_verified
    assert not user.has_usable_password()


def test_enrol_writes_audit_entries(steward: User) -> None:
    participant = _enrol(steward)

    enrol = AuditEvent.objects.get(action="participant.enrol")
    assert enrol.actor == steward
    assert enrol.object_type == "consent.participant"
    assert enrol.object_id == str(participant.pk)
    assert enrol.after == {"study_id": "STUDY-007", "user_id": participant.user.pk}
    invite = AuditEvent.objects.get(action="user.invite")
    assert invite.actor == steward
    assert invite.object_id == str(participant.user.pk)
    assert invite.after == {"role": "participant"}


def test_enrol_queues_invitation_after_commit(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _enrol(steward)

    assert len(callbacks) == 1
    assert mail.outbox == []
    callbacks[0]()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jo.bloggs@example.org"]
    assert mail.outbox[0].subject == "Your invitation to Custodian"
    assert link_from_last_email("/account/activate/").startswith("/account/activate/")


def test_enrol_strips_the_study_id(steward: User) -> None:
    participant = _enrol(steward, study_id="  STUDY-007 \t")

    assert participant.study_id == "STUDY-007"


def test_enrol_duplicate_study_id_refused(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    ParticipantFactory(study_id="STUDY-007")
    users = User.objects.count()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ConsentError) as refused,
    ):
        _enrol(steward, study_id=" STUDY-007 ")

    assert refused.value.message == "The study ID STUDY-007 is already enrolled."
    assert refused.value.code == "duplicate"
    assert refused.value.http_status == 400
    assert User.objects.count() == users
    assert not User.objects.filter(email="jo.bloggs@example.org").exists()
    assert callbacks == []
    assert mail.outbox == []


@pytest.mark.parametrize("study_id", ["", "   ", "\t\n"])
def test_enrol_blank_study_id_refused(
    steward: User, study_id: str, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ConsentError) as refused,
    ):
        _enrol(steward, study_id=study_id)

    assert refused.value.message == "A study ID is required."
    assert refused.value.code == "invalid"
    _nothing_written(study_id)
    assert callbacks == []


def test_enrol_duplicate_email_refused(
    steward: User, participant: User, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(PortalError) as refused,
    ):
        _enrol(steward, email="PARTICIPANT@example.org")

    assert refused.value.message == (
        "An account with the email participant@example.org already exists."
    )
    assert refused.value.code == "duplicate"
    assert not Participant.objects.filter(study_id="STUDY-007").exists()
    assert callbacks == []


def test_enrol_existing_participant_account_is_linked_without_invitation(
    steward: User, django_capture_on_commit_callbacks: Any
) -> None:
    account = UserFactory(email="existing@example.org", role=Role.PARTICIPANT)
    users = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        participant = _enrol(steward, account=account)

    assert participant.user == account
    assert User.objects.count() == users
    assert callbacks == []
    assert mail.outbox == []
    assert AuditEvent.objects.get(action="participant.enrol").after == {
        "study_id": "STUDY-007",
        "user_id": account.pk,
    }
    assert not AuditEvent.objects.filter(action="user.invite").exists()


@pytest.mark.parametrize("persona", ["researcher", "dac_member", "dac_chair", "steward"])
def test_enrol_account_that_is_not_a_participant_refused(
    steward: User, persona: str, request: pytest.FixtureRequest
) -> None:
    account: User = request.getfixturevalue(persona)

    with pytest.raises(ConsentError) as refused:
        _enrol(steward, account=account)

    assert refused.value.message == f"{account.email} is not a participant account."
    assert refused.value.code == "invalid"
    _nothing_written()


def test_enrol_account_already_enrolled_refused(steward: User, participant: User) -> None:
    # A person has one participant record (one-to-one): a second study ID is a refusal,
    # not a database error.
    with pytest.raises(ConsentError) as refused:
        _enrol(steward, account=participant)

    assert participant.email in refused.value.message
    assert refused.value.http_status == 400
    assert not Participant.objects.filter(study_id="STUDY-007").exists()
