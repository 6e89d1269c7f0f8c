"""The committee admin writes through the committee services: audited, roles given."""

from __future__ import annotations

import pytest
from django.test import Client

from datasets.models import Committee
from portal.models import AuditEvent, Role, User
from tests.conftest import signed_in_client
from tests.factories import UserFactory

ADD = "/admin/datasets/committee/add/"


@pytest.fixture
def operator(db: None) -> User:
    return UserFactory(email="operator@example.org", role=Role.STEWARD, is_superuser=True)


@pytest.fixture
def admin_client(operator: User) -> Client:
    return signed_in_client(operator)


def _form(**fields: object) -> dict[str, object]:
    return {
        "contact_email": "dac@example.org",
        "description": "",
        "quorum": "",
        **fields,
    }


def test_committee_admin_creates_through_the_service(
    admin_client: Client, operator: User, dac_chair: User
) -> None:
    response = admin_client.post(
        ADD, _form(name="Admin DAC", kind="dac", chairs=[dac_chair.pk], members=[])
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    committee = Committee.objects.get(name="Admin DAC")
    assert list(committee.members.all()) == [dac_chair]
    assert AuditEvent.objects.get(action="committee.create").actor == operator


def test_committee_admin_refuses_a_new_committee_of_people_without_a_dac_role(
    admin_client: Client, dac_chair: User, researcher: User
) -> None:
    response = admin_client.post(
        ADD,
        _form(name="Admin DAC", kind="dac", chairs=[dac_chair.pk], members=[researcher.pk]),
    )

    assert response.status_code == 200
    assert (
        "Only people with the DAC member or DAC chair role can sit on a new committee: "
        "researcher@example.org" in response.content.decode()
    )
    assert not Committee.objects.exists()


def test_committee_admin_change_appoints_and_replaces_the_chair_through_the_services(
    admin_client: Client, dac_member: User, dac_chair: User, researcher: User
) -> None:
    committee = Committee.objects.get(name="Test DAC")
    url = f"/admin/datasets/committee/{committee.pk}/change/"

    response = admin_client.post(
        url,
        _form(
            contact_email="new@example.org",
            quorum="2",
            recuse_same_institution="on",
            chairs=[dac_member.pk],
            members=[dac_member.pk, dac_chair.pk, researcher.pk],
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    committee.refresh_from_db()
    assert (committee.contact_email, committee.quorum, committee.recuse_same_institution) == (
        "new@example.org",
        2,
        True,
    )
    assert list(committee.chairs.all()) == [dac_member]
    assert sorted(u.email for u in committee.members.all()) == [
        "chair@example.org",
        "member@example.org",
        "researcher@example.org",
    ]
    researcher.refresh_from_db()
    assert researcher.roles == ["dac_member", "researcher"]
    actions = list(
        AuditEvent.objects.filter(action__startswith="committee.").values_list("action", flat=True)
    )
    assert actions == [
        "committee.update",
        "committee.member_add",  # the member becomes a chair
        "committee.member_add",  # the researcher joins
        "committee.member_remove",  # the old chair steps down…
        "committee.member_add",  # …and stays a member
    ]


def test_committee_admin_cannot_delete(admin_client: Client, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")

    response = admin_client.get(f"/admin/datasets/committee/{committee.pk}/delete/")

    assert response.status_code == 403
