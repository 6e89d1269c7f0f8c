from __future__ import annotations

import pytest

from access.models import Committee
from access.services import AccessError, committee_create
from portal.models import AuditEvent, Role, User
from tests.factories import UserFactory


@pytest.fixture
def second_member(db: None) -> User:
    return UserFactory(email="second.member@example.org", role=Role.DAC_MEMBER)


def _create(steward: User, **changes: object) -> Committee:
    arguments: dict[str, object] = {
        "actor": steward,
        "name": "Cardiology DAC",
        "contact_email": "cardio-dac@example.org",
        **changes,
    }
    return committee_create(**arguments)  # type: ignore[arg-type]


def test_committee_create_chairs_are_members_too(
    steward: User, dac_chair: User, dac_member: User, second_member: User
) -> None:
    committee = _create(steward, chairs=[dac_chair], members=[dac_member, second_member])

    committee.refresh_from_db()
    assert committee.name == "Cardiology DAC"
    assert committee.contact_email == "cardio-dac@example.org"
    assert set(committee.chairs.all()) == {dac_chair}
    assert set(committee.members.all()) == {dac_chair, dac_member, second_member}


def test_committee_create_chair_listed_as_member_counted_once(
    steward: User, dac_chair: User, dac_member: User
) -> None:
    committee = _create(steward, chairs=[dac_chair], members=[dac_chair, dac_member])

    assert committee.members.count() == 2


def test_committee_create_with_chairs_only(steward: User, dac_chair: User) -> None:
    committee = _create(steward, chairs=[dac_chair])

    assert list(committee.members.all()) == [dac_chair]


def test_committee_create_strips_the_name(steward: User, dac_chair: User) -> None:
    committee = _create(steward, name="  Cardiology DAC  ", chairs=[dac_chair])

    assert committee.name == "Cardiology DAC"


def test_committee_create_writes_audit_entry(
    steward: User, dac_chair: User, dac_member: User
) -> None:
    committee = _create(steward, chairs=[dac_chair], members=[dac_member])

    event = AuditEvent.objects.get(action="committee.create")
    assert event.actor == steward
    assert event.object_type == "access.committee"
    assert event.object_id == str(committee.pk)
    assert event.after == {
        "name": "Cardiology DAC",
        "chairs": [dac_chair.pk],
        "members": sorted([dac_chair.pk, dac_member.pk]),
    }


def test_committee_create_without_chair_refused(steward: User, dac_member: User) -> None:
    with pytest.raises(AccessError) as refused:
        _create(steward, chairs=[], members=[dac_member])

    assert refused.value.message == "A committee needs at least one chair."
    assert refused.value.code == "invalid"
    assert not Committee.objects.filter(name="Cardiology DAC").exists()


@pytest.mark.parametrize("persona", ["dac_member", "researcher", "participant", "steward"])
def test_committee_create_non_chair_as_chair_refused(
    steward: User, persona: str, request: pytest.FixtureRequest
) -> None:
    chair: User = request.getfixturevalue(persona)

    with pytest.raises(AccessError) as refused:
        _create(steward, chairs=[chair])

    assert refused.value.code == "invalid"
    assert chair.email in refused.value.message
    assert not Committee.objects.filter(name="Cardiology DAC").exists()
    assert not AuditEvent.objects.filter(action="committee.create").exists()


@pytest.mark.parametrize("persona", ["participant", "researcher", "steward"])
def test_committee_create_non_dac_member_refused(
    steward: User, dac_chair: User, persona: str, request: pytest.FixtureRequest
) -> None:
    member: User = request.getfixturevalue(persona)

    with pytest.raises(AccessError) as refused:
        _create(steward, chairs=[dac_chair], members=[member])

    assert refused.value.message == (
        f"Only DAC members and chairs can sit on a committee: {member.email}"
    )
    assert refused.value.code == "invalid"
    assert not Committee.objects.filter(name="Cardiology DAC").exists()
    assert not AuditEvent.objects.filter(action="committee.create").exists()


def test_committee_create_names_every_wrong_person(
    steward: User, dac_chair: User, participant: User, researcher: User
) -> None:
    with pytest.raises(AccessError) as refused:
        _create(steward, chairs=[dac_chair], members=[participant, researcher])

    assert refused.value.message == (
        "Only DAC members and chairs can sit on a committee: "
        "participant@example.org, researcher@example.org"
    )


def test_committee_create_duplicate_name_refused(
    steward: User, dac_chair: User, dac_member: User
) -> None:
    # The dac_member persona sits on "Test DAC".
    committees = Committee.objects.count()
    events = AuditEvent.objects.count()

    with pytest.raises(AccessError) as refused:
        _create(steward, name="Test DAC", chairs=[dac_chair])

    assert refused.value.message == "A committee named Test DAC already exists."
    assert refused.value.code == "duplicate"
    assert Committee.objects.count() == committees
    assert AuditEvent.objects.count() == events
    # The existing committee is untouched.
    existing = Committee.objects.get(name="Test DAC")
    assert set(existing.members.all()) == {dac_chair, dac_member}


def test_committee_create_duplicate_name_after_stripping_refused(
    steward: User, dac_chair: User, dac_member: User
) -> None:
    with pytest.raises(AccessError) as refused:
        _create(steward, name=" Test DAC ", chairs=[dac_chair])

    assert refused.value.message == "A committee named Test DAC already exists."
    assert Committee.objects.filter(name__contains="Test DAC").count() == 1
