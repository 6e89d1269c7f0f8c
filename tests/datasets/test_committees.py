"""Committee services: create, update, appoint and remove people, samples of a community."""

from __future__ import annotations

import pytest

from datasets import services
from datasets.models import Committee, CommitteeKind, Dataset, Sample
from datasets.selectors import committee_by_name, committees, committees_of
from portal.exceptions import PermissionError_
from portal.models import AuditEvent, Role, User
from tests.factories import UserFactory


def _emails(users: object) -> list[str]:
    return sorted(u.email for u in users.all())  # type: ignore[attr-defined]


@pytest.fixture
def chair(db: None) -> User:
    return UserFactory(email="cleo@example.org", full_name="Cleo Chair", role=Role.DAC_CHAIR)


@pytest.fixture
def member(db: None) -> User:
    return UserFactory(email="mo@example.org", full_name="Mo Member", role=Role.DAC_MEMBER)


@pytest.fixture
def dac(steward: User, chair: User, member: User) -> Committee:
    return services.committee_create(
        actor=steward,
        name="Cohort DAC",
        contact_email="cohort-dac@example.org",
        chairs=[chair],
        members=[member],
    )


@pytest.fixture
def community(steward: User, chair: User) -> Committee:
    return services.committee_create(
        actor=steward,
        name="Islands Community Board",
        contact_email="board@islands.example",
        chairs=[chair],
        kind=CommitteeKind.COMMUNITY,
        quorum=2,
        recuse_same_institution=True,
        description="Speaks for the island communities.",
    )


@pytest.fixture
def samples(steward: User, dac: Committee) -> Dataset:
    dataset = services.dataset_create(
        actor=steward, title="Islands cohort", committee=dac, permission="GRU"
    )
    for sample_id in ("ISL-1", "ISL-2", "ISL-3"):
        Sample.objects.create(dataset=dataset, sample_id=sample_id)
    return dataset


def _community_of(dataset: Dataset) -> dict[str, str | None]:
    return {
        s.sample_id: (s.community.name if s.community else None)
        for s in dataset.samples.select_related("community").order_by("sample_id")
    }


# --- committee_create --------------------------------------------------------------------------


def test_committee_create_makes_the_chairs_members_and_audits(
    steward: User, chair: User, member: User, dac: Committee
) -> None:
    assert (dac.name, dac.kind, dac.contact_email, dac.quorum) == (
        "Cohort DAC",
        CommitteeKind.DAC,
        "cohort-dac@example.org",
        None,
    )
    assert _emails(dac.chairs) == ["cleo@example.org"]
    assert _emails(dac.members) == ["cleo@example.org", "mo@example.org"]
    event = AuditEvent.objects.get(action="committee.create")
    assert (event.actor, event.object_type, event.object_id) == (
        steward,
        "datasets.committee",
        str(dac.pk),
    )
    assert event.after == {
        "name": "Cohort DAC",
        "kind": "dac",
        "contact_email": "cohort-dac@example.org",
        "quorum": None,
        "recuse_same_institution": False,
        "description": "",
        "chairs": [chair.pk],
        "members": sorted([chair.pk, member.pk]),
    }
    assert committee_by_name("Cohort DAC") == dac
    assert list(committees_of(member)) == [dac]


def test_committee_create_community_with_its_own_rules(community: Committee) -> None:
    assert (community.kind, community.quorum, community.recuse_same_institution) == (
        CommitteeKind.COMMUNITY,
        2,
        True,
    )
    assert community.description == "Speaks for the island communities."
    # A dataset's committee is chosen among DACs only.
    assert list(committees()) == []
    assert list(committees(CommitteeKind.COMMUNITY)) == [community]


def test_committee_create_accepts_a_member_as_chair(steward: User, member: User) -> None:
    committee = services.committee_create(
        actor=steward, name="Small DAC", contact_email="small@example.org", chairs=[member]
    )

    assert _emails(committee.chairs) == ["mo@example.org"]


def test_committee_create_refuses_a_duplicate_name_whatever_its_case(
    steward: User, chair: User, dac: Committee
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.committee_create(
            actor=steward, name=" cohort  DAC ", contact_email="x@example.org", chairs=[chair]
        )

    assert raised.value.message == "A committee named cohort DAC already exists."
    assert raised.value.code == "duplicate"
    assert Committee.objects.count() == 1


def test_committee_create_refuses_people_without_a_dac_role(
    steward: User, chair: User, researcher: User, participant: User
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.committee_create(
            actor=steward,
            name="Open DAC",
            contact_email="open@example.org",
            chairs=[chair, researcher],
            members=[participant],
        )

    assert raised.value.message == (
        "Only people with the DAC member or DAC chair role can sit on a committee: "
        "researcher@example.org, participant@example.org"
    )
    assert not Committee.objects.exists()
    assert not AuditEvent.objects.filter(action="committee.create").exists()


def test_committee_create_refuses_no_chair_a_blank_name_a_bad_email_and_a_zero_quorum(
    steward: User, chair: User, member: User
) -> None:
    cases = [
        (
            {"name": "DAC", "chairs": [], "members": [member]},
            "A committee needs at least one chair.",
        ),
        ({"name": "  ", "chairs": [chair]}, "A committee needs a name."),
        (
            {"name": "DAC", "chairs": [chair], "contact_email": "dac@"},
            "“dac@” is not a valid contact email address.",
        ),
        (
            {"name": "DAC", "chairs": [chair], "quorum": 0},
            "The quorum is the number of votes a decision needs: at least 1, or empty for a "
            "majority of the members who may vote.",
        ),
    ]
    for arguments, message in cases:
        arguments.setdefault("contact_email", "dac@example.org")
        with pytest.raises(services.CommitteeError) as raised:
            services.committee_create(actor=steward, **arguments)  # type: ignore[arg-type]
        assert raised.value.message == message
    assert not Committee.objects.exists()


@pytest.mark.parametrize("persona", ["researcher", "dac_chair", "participant"])
def test_committee_services_refuse_anyone_but_a_steward(
    persona: str, request: pytest.FixtureRequest, chair: User, dac: Committee, member: User
) -> None:
    actor = request.getfixturevalue(persona)
    calls = [
        lambda: services.committee_create(
            actor=actor, name="Mine", contact_email="m@example.org", chairs=[chair]
        ),
        lambda: services.committee_update(
            actor=actor,
            committee=dac,
            contact_email="m@example.org",
            quorum=None,
            recuse_same_institution=False,
            description="",
        ),
        lambda: services.committee_member_add(actor=actor, committee=dac, user=actor),
        lambda: services.committee_member_remove(actor=actor, committee=dac, user=member),
    ]
    for call in calls:
        with pytest.raises(PermissionError_) as raised:
            call()
        assert raised.value.message == "Only data stewards manage datasets."
    assert _emails(dac.members) == ["cleo@example.org", "mo@example.org"]
    assert not AuditEvent.objects.exclude(action="committee.create").filter(
        action__startswith="committee."
    )


# --- committee_update --------------------------------------------------------------------------


def test_committee_update_changes_how_it_works_and_audits_before_and_after(
    steward: User, dac: Committee
) -> None:
    updated = services.committee_update(
        actor=steward,
        committee=dac,
        contact_email="new-dac@example.org",
        quorum=3,
        recuse_same_institution=True,
        description="  Reviews cohort requests.  ",
    )

    dac.refresh_from_db()
    assert updated == dac
    assert (dac.name, dac.contact_email, dac.quorum, dac.recuse_same_institution) == (
        "Cohort DAC",
        "new-dac@example.org",
        3,
        True,
    )
    assert dac.description == "Reviews cohort requests."
    event = AuditEvent.objects.get(action="committee.update")
    assert event.before == {
        "contact_email": "cohort-dac@example.org",
        "quorum": None,
        "recuse_same_institution": False,
        "description": "",
    }
    assert event.after == {
        "contact_email": "new-dac@example.org",
        "quorum": 3,
        "recuse_same_institution": True,
        "description": "Reviews cohort requests.",
    }


def test_committee_update_refuses_a_bad_email_or_quorum(steward: User, dac: Committee) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.committee_update(
            actor=steward,
            committee=dac,
            contact_email="nobody",
            quorum=None,
            recuse_same_institution=False,
            description="",
        )
    assert raised.value.message == "“nobody” is not a valid contact email address."
    with pytest.raises(services.CommitteeError):
        services.committee_update(
            actor=steward,
            committee=dac,
            contact_email="ok@example.org",
            quorum=0,
            recuse_same_institution=False,
            description="",
        )

    dac.refresh_from_db()
    assert (dac.contact_email, dac.quorum) == ("cohort-dac@example.org", None)


# --- committee_member_add / committee_member_remove ------------------------------------------


def test_committee_member_add_appoints_someone_without_a_dac_role_as_member(
    steward: User, dac: Committee, researcher: User
) -> None:
    services.committee_member_add(actor=steward, committee=dac, user=researcher)

    researcher.refresh_from_db()
    assert researcher.roles == ["dac_member", "researcher"]
    assert _emails(dac.members) == [
        "cleo@example.org",
        "mo@example.org",
        "researcher@example.org",
    ]
    assert _emails(dac.chairs) == ["cleo@example.org"]
    role_event = AuditEvent.objects.get(action="user.role_add")
    assert (role_event.actor, role_event.after) == (
        steward,
        {"roles": ["dac_member", "researcher"]},
    )
    event = AuditEvent.objects.get(action="committee.member_add")
    assert event.after["user_id"] == researcher.pk
    assert event.after["chair"] is False
    assert researcher.pk in event.after["members"]
    assert researcher.pk not in event.before["members"]


def test_committee_member_add_as_chair_keeps_the_roles_of_a_dac_member(
    steward: User, dac: Committee, member: User
) -> None:
    services.committee_member_add(actor=steward, committee=dac, user=member, chair=True)

    member.refresh_from_db()
    assert member.roles == ["dac_member"]
    assert _emails(dac.chairs) == ["cleo@example.org", "mo@example.org"]
    assert not AuditEvent.objects.filter(action="user.role_add").exists()


def test_committee_member_remove_removes_member_and_chair(
    steward: User, dac: Committee, chair: User, member: User
) -> None:
    services.committee_member_add(actor=steward, committee=dac, user=member, chair=True)

    services.committee_member_remove(actor=steward, committee=dac, user=chair)

    assert _emails(dac.chairs) == ["mo@example.org"]
    assert _emails(dac.members) == ["mo@example.org"]
    event = AuditEvent.objects.get(action="committee.member_remove")
    both = sorted([chair.pk, member.pk])
    assert event.before == {"chairs": both, "members": both}
    assert event.after == {"chairs": [member.pk], "members": [member.pk], "user_id": chair.pk}
    # Their role stays: they may sit on other committees.
    chair.refresh_from_db()
    assert chair.roles == ["dac_chair"]


def test_committee_member_remove_refuses_the_last_chair(
    steward: User, dac: Committee, chair: User
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.committee_member_remove(actor=steward, committee=dac, user=chair)

    assert raised.value.message == (
        "cleo@example.org is the only chair of Cohort DAC: appoint another chair first."
    )
    assert raised.value.code == "last_chair"
    assert _emails(dac.chairs) == ["cleo@example.org"]


def test_committee_member_remove_refuses_someone_not_on_the_committee(
    steward: User, dac: Committee, researcher: User
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.committee_member_remove(actor=steward, committee=dac, user=researcher)

    assert raised.value.message == "researcher@example.org is not a member of Cohort DAC."


# --- samples_assign_community ------------------------------------------------------------------


def test_samples_assign_community_puts_samples_in_a_community_and_clears_them(
    steward: User, samples: Dataset, community: Committee
) -> None:
    changed = services.samples_assign_community(
        actor=steward, dataset=samples, sample_ids=["ISL-1", "ISL-3"], community=community
    )

    assert changed == 2
    assert _community_of(samples) == {
        "ISL-1": "Islands Community Board",
        "ISL-2": None,
        "ISL-3": "Islands Community Board",
    }
    event = AuditEvent.objects.get(action="samples.assign_community")
    assert (event.object_type, event.object_id) == ("datasets.dataset", str(samples.pk))
    assert event.after == {"community_id": community.pk, "samples": ["ISL-1", "ISL-3"]}

    cleared = services.samples_assign_community(
        actor=steward, dataset=samples, sample_ids=["ISL-1", "ISL-2"], community=None
    )

    assert cleared == 1
    assert _community_of(samples) == {
        "ISL-1": None,
        "ISL-2": None,
        "ISL-3": "Islands Community Board",
    }


def test_samples_assign_community_refuses_unknown_samples_and_changes_nothing(
    steward: User, samples: Dataset, community: Committee
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.samples_assign_community(
            actor=steward,
            dataset=samples,
            sample_ids=["ISL-1", "NOPE-9", "ISL-2", "NOPE-1"],
            community=community,
        )

    assert raised.value.message == (
        f"{samples.accession} has no sample NOPE-9, NOPE-1: nothing was changed."
    )
    assert _community_of(samples) == {"ISL-1": None, "ISL-2": None, "ISL-3": None}
    assert not AuditEvent.objects.filter(action="samples.assign_community").exists()


def test_samples_assign_community_refuses_a_dac(
    steward: User, samples: Dataset, dac: Committee
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.samples_assign_community(
            actor=steward, dataset=samples, sample_ids=["ISL-1"], community=dac
        )

    assert raised.value.message == (
        "Cohort DAC is not a community committee: samples belong only to a community's own "
        "governance committee."
    )
    assert _community_of(samples)["ISL-1"] is None


def test_samples_assign_community_refuses_no_samples_and_non_stewards(
    steward: User, researcher: User, samples: Dataset, community: Committee
) -> None:
    with pytest.raises(services.CommitteeError) as raised:
        services.samples_assign_community(
            actor=steward, dataset=samples, sample_ids=[], community=community
        )
    assert raised.value.message == "Give the sample IDs to assign."
    with pytest.raises(PermissionError_):
        services.samples_assign_community(
            actor=researcher, dataset=samples, sample_ids=["ISL-1"], community=community
        )
    assert _community_of(samples)["ISL-1"] is None


# --- datasets are governed by a DAC -------------------------------------------------------------


def test_dataset_create_refuses_a_community_committee(steward: User, community: Committee) -> None:
    with pytest.raises(services.DatasetError) as raised:
        services.dataset_create(
            actor=steward, title="Islands", committee=community, permission="GRU"
        )

    assert raised.value.message == (
        "Islands Community Board is a community committee: choose the data access committee "
        "that governs the dataset."
    )
    assert not Dataset.objects.exists()
