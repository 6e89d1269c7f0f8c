"""Stewards create committees, manage their members and settings, publish agreements."""

from __future__ import annotations

from django.test import Client

from access.models import DataAccessAgreement
from datasets.models import Committee
from portal.models import Role, User
from tests.conftest import signed_in_client
from tests.factories import UserFactory

LIST = "/access/steward/committees/"


def _page(committee: Committee) -> str:
    return f"/access/steward/committees/{committee.pk}/"


def test_steward_creates_a_committee(steward: User, dac_chair: User, dac_member: User) -> None:
    client = signed_in_client(steward)

    response = client.post(
        LIST,
        {
            "name": "Cardiology DAC",
            "kind": "dac",
            "contact_email": "cardio@example.org",
            "chairs": "chair@example.org",
            "members": "member@example.org",
            "quorum": "",
        },
    )

    committee = Committee.objects.get(name="Cardiology DAC")
    assert response.status_code == 302
    assert response["Location"] == _page(committee)
    assert list(committee.chairs.values_list("email", flat=True)) == ["chair@example.org"]
    assert sorted(committee.members.values_list("email", flat=True)) == [
        "chair@example.org",
        "member@example.org",
    ]
    listing = client.get(LIST).content.decode()
    assert f'<a href="{_page(committee)}">Cardiology DAC</a>' in listing


def test_unknown_people_are_refused(steward: User) -> None:
    response = signed_in_client(steward).post(
        LIST,
        {"name": "X DAC", "kind": "dac", "contact_email": "x@example.org", "chairs": "no@one.org"},
    )

    assert response.status_code == 400
    assert "Nobody is registered as no@one.org." in response.content.decode()
    assert not Committee.objects.filter(name="X DAC").exists()


def test_steward_adds_makes_chair_and_removes_a_member(steward: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")
    newcomer = UserFactory(email="new@example.org", role=Role.RESEARCHER)
    client = signed_in_client(steward)

    added = client.post(_page(committee), {"action": "add", "email": "new@example.org"})
    chaired = client.post(_page(committee), {"action": "chair", "user_id": newcomer.pk})
    removed = client.post(_page(committee), {"action": "remove", "user_id": dac_member.pk})

    assert [added.status_code, chaired.status_code, removed.status_code] == [302, 302, 302]
    assert sorted(committee.members.values_list("email", flat=True)) == [
        "chair@example.org",
        "new@example.org",
    ]
    assert sorted(committee.chairs.values_list("email", flat=True)) == [
        "chair@example.org",
        "new@example.org",
    ]
    newcomer.refresh_from_db()
    assert newcomer.has_role(Role.DAC_MEMBER)


def test_adding_an_unregistered_person_is_refused(steward: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")

    response = signed_in_client(steward).post(
        _page(committee), {"action": "add", "email": "ghost@example.org"}
    )

    assert response.status_code == 400
    assert "Nobody is registered as ghost@example.org: they must register first." in (
        response.content.decode()
    )


def test_the_last_chair_cannot_be_removed(steward: User, dac_chair: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")

    response = signed_in_client(steward).post(
        _page(committee), {"action": "remove", "user_id": dac_chair.pk}
    )

    assert response.status_code == 409
    assert "is the only chair of Test DAC" in response.content.decode()


def test_steward_changes_the_settings(steward: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")

    response = signed_in_client(steward).post(
        _page(committee),
        {
            "action": "settings",
            "contact_email": "new-dac@example.org",
            "quorum": "3",
            "recuse_same_institution": "on",
        },
    )

    committee.refresh_from_db()
    assert response.status_code == 302
    assert (committee.contact_email, committee.quorum, committee.recuse_same_institution) == (
        "new-dac@example.org",
        3,
        True,
    )


def test_steward_publishes_agreement_versions(steward: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")
    client = signed_in_client(steward)

    first = client.post(
        _page(committee), {"action": "publish", "text": "Version one: keep the data safe."}
    )
    second = client.post(
        _page(committee), {"action": "publish", "text": "Version two: keep the data safer."}
    )

    assert [first.status_code, second.status_code] == [302, 302]
    assert list(
        DataAccessAgreement.objects.filter(committee=committee).values_list("version", "text")
    ) == [(2, "Version two: keep the data safer."), (1, "Version one: keep the data safe.")]
    page = client.get(_page(committee)).content.decode()
    assert "Version 2 (current)</h3>" in page
    assert "Version 1</h3>" in page
    assert "<p>Version one: keep the data safe.</p>" in page


def test_too_short_an_agreement_is_refused(steward: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")

    response = signed_in_client(steward).post(
        _page(committee), {"action": "publish", "text": "Too short."}
    )

    assert response.status_code == 400
    assert "at least 20 characters" in response.content.decode()


def test_unknown_committee_is_not_found(steward: User) -> None:
    assert signed_in_client(steward).get("/access/steward/committees/999999/").status_code == 404


def test_committee_member_is_refused(dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")
    client = signed_in_client(dac_member)

    assert client.get(LIST).status_code == 403
    assert client.get(_page(committee)).status_code == 403


def test_outsider_is_refused(outsider: User, dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")
    client = signed_in_client(outsider)

    assert client.get(LIST).status_code == 403
    assert client.post(_page(committee), {"action": "remove"}).status_code == 403


def test_anonymous_is_sent_to_sign_in(dac_member: User) -> None:
    committee = Committee.objects.get(name="Test DAC")

    for url in (LIST, _page(committee)):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/account/sign-in/")
