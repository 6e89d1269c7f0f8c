from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from consent.models import ConsentVersion, Participant, ParticipantProxy
from consent.services import (
    ConsentError,
    consent_record,
    majority_date,
    proxy_link,
    proxy_majority_handover,
)
from consent.tasks import proxy_majority_check_task
from portal.models import AuditEvent, Role, User
from tests.conftest import signed_in_client
from tests.consent.conftest import ALL_YES
from tests.factories import UserFactory


@pytest.fixture
def child(enrolled: Participant) -> Participant:
    enrolled.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 10)
    enrolled.save()
    return enrolled


@pytest.fixture
def guardian(steward: User, child: Participant) -> User:
    proxy = UserFactory(email="guardian@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(actor=steward, participant=child, email=proxy.email, full_name=proxy.full_name)
    return proxy


def sign_as(proxy: User, child: Participant, version: ConsentVersion, sequence: int = 0):  # type: ignore[no-untyped-def]
    return consent_record(
        actor=proxy,
        participant=child,
        version=version,
        answers=ALL_YES,
        signature=proxy.full_name,
        channel="web",
        expected_sequence=sequence,
        proxy=proxy,
    )


def test_proxy_signs_for_child_and_both_are_on_the_record(
    guardian: User, child: Participant, version: ConsentVersion
) -> None:
    record = sign_as(guardian, child, version)

    assert record.proxy == guardian
    assert record.participant == child
    assert record.signature == "Gwen Guardian"


def test_proxy_must_sign_with_own_name(
    guardian: User, child: Participant, version: ConsentVersion
) -> None:
    with pytest.raises(ConsentError, match=r"your full name as on your account \(Gwen Guardian\)"):
        consent_record(
            actor=guardian,
            participant=child,
            version=version,
            answers=ALL_YES,
            signature=child.user.full_name,
            channel="web",
            expected_sequence=0,
            proxy=guardian,
        )


def test_unlinked_proxy_is_refused(
    steward: User, child: Participant, version: ConsentVersion
) -> None:
    stranger = UserFactory(role=Role.PROXY)

    with pytest.raises(ConsentError, match=f"You do not act for {child.study_id}"):
        sign_as(stranger, child, version)


def test_proxy_acting_after_authority_ended_is_refused(
    guardian: User, child: Participant, version: ConsentVersion
) -> None:
    ParticipantProxy.objects.filter(proxy=guardian).update(
        ended_at=timezone.now(), end_reason="the participant came of age"
    )

    with pytest.raises(ConsentError, match="Your authority to act for .* ended on") as error:
        sign_as(guardian, child, version)

    assert error.value.code == "proxy_ended"
    assert not child.records.exists()


@pytest.mark.parametrize(
    ("born", "message"),
    [(None, "has no date of birth"), (dt.date(1990, 1, 1), "is an adult")],
)
def test_proxy_link_needs_a_child(
    steward: User, enrolled: Participant, born: dt.date | None, message: str
) -> None:
    enrolled.date_of_birth = born
    enrolled.save()

    with pytest.raises(ConsentError, match=message):
        proxy_link(actor=steward, participant=enrolled, email="g@example.org", full_name="G")

    assert not ParticipantProxy.objects.exists()


def test_linking_a_new_guardian_invites_them(
    steward: User, child: Participant, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        link = proxy_link(
            actor=steward,
            participant=child,
            email="New.Guardian@Example.org",
            full_name="New Guardian",
        )

    assert link.proxy.roles == [Role.PROXY]
    assert link.proxy.email == "new.guardian@example.org"
    assert mail.outbox[-1].subject == "Your invitation to Custodian"


def test_linking_a_participant_as_guardian_adds_the_proxy_role(
    steward: User, child: Participant, other_participant: User
) -> None:
    link = proxy_link(
        actor=steward, participant=child, email=other_participant.email, full_name="Ignored"
    )

    other_participant.refresh_from_db()
    assert link.proxy == other_participant
    assert other_participant.roles == [Role.PARTICIPANT, Role.PROXY]
    event = AuditEvent.objects.get(action="user.role_add")
    assert (event.actor, event.before, event.after) == (
        steward,
        {"roles": ["participant"]},
        {"roles": ["participant", "proxy"]},
    )


def test_linking_a_staff_account_as_guardian_is_refused(
    steward: User, child: Participant, researcher: User
) -> None:
    with pytest.raises(ConsentError) as refused:
        proxy_link(actor=steward, participant=child, email=researcher.email, full_name="R")

    assert refused.value.message == "researcher@example.org is not a proxy account."
    researcher.refresh_from_db()
    assert researcher.roles == [Role.RESEARCHER]
    assert not ParticipantProxy.objects.exists()


def test_linking_the_child_as_their_own_guardian_is_refused(
    steward: User, child: Participant
) -> None:
    with pytest.raises(ConsentError) as refused:
        proxy_link(actor=steward, participant=child, email=child.user.email, full_name="Self")

    assert refused.value.message == (
        f"participant@example.org is {child.study_id}'s own account: a child cannot be their "
        "own guardian."
    )
    assert child.user.roles == [Role.PARTICIPANT]


def test_participant_who_is_a_guardian_sees_own_consent_until_choosing_the_child(
    steward: User, child: Participant, other_participant: User
) -> None:
    proxy_link(actor=steward, participant=child, email=other_participant.email, full_name="O")
    client = signed_in_client(other_participant)

    own = client.get("/consent/").content.decode()
    client.post("/consent/proxy/", {"participant": child.pk})
    for_child = client.get("/consent/").content.decode()

    assert "You are acting as" not in own
    assert other_participant.participant.study_id in own
    assert "<h1>Consent for Pat Participant</h1>" in for_child
    assert "You are acting as Pat's guardian" in for_child
    assert "<strong>Pat Participant</strong> (study ID" in for_child
    assert "Hello," not in for_child


def test_majority_date_handles_leap_day() -> None:
    assert majority_date(dt.date(2008, 2, 29)).isoformat() == "2026-03-01"
    assert majority_date(dt.date(2008, 5, 4)).isoformat() == "2026-05-04"


def test_coming_of_age_ends_proxy_and_invites_participant(
    guardian: User,
    child: Participant,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    child.date_of_birth = timezone.localdate().replace(year=timezone.localdate().year - 18)
    child.save()

    with django_capture_on_commit_callbacks(execute=True):
        handed_over = proxy_majority_check_task()

    assert handed_over == 1
    link = ParticipantProxy.objects.get(proxy=guardian)
    assert link.ended_at is not None
    assert link.end_reason == "the participant came of age"
    assert mail.outbox[-1].to == [child.user.email]
    assert mail.outbox[-1].subject == "You can now decide about your study data yourself"
    assert proxy_majority_check_task() == 0, "a rerun does nothing"


def test_a_child_is_not_handed_over(guardian: User, child: Participant) -> None:
    assert proxy_majority_handover(participant=child) == 0
    assert ParticipantProxy.objects.get(proxy=guardian).ended_at is None


def test_proxy_uses_the_web_journey_for_the_child(
    guardian: User, child: Participant, version: ConsentVersion
) -> None:
    client = signed_in_client(guardian)

    home = client.get("/home/", follow=True)
    assert "People I act for" in home.content.decode()
    assert child.study_id in home.content.decode()
    opened = client.post("/consent/proxy/", {"participant": child.pk}, follow=True)
    page = opened.content.decode()

    assert opened.status_code == 200
    assert "You are acting as Pat's guardian" in page
    assert child.study_id in page


def test_proxy_cannot_open_someone_else(guardian: User, other_participant: User) -> None:
    client = signed_in_client(guardian)

    response = client.post("/consent/proxy/", {"participant": other_participant.participant.pk})

    assert response.status_code == 404
