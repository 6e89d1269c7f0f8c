"""The steward links a guardian to a child participant from the participants page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from consent.models import Participant, ParticipantProxy
from portal.models import Role, User
from tests.factories import ParticipantFactory, UserFactory


@pytest.fixture
def child(db: None) -> Participant:
    born = timezone.localdate() - dt.timedelta(days=365 * 7)
    return ParticipantFactory(study_id="KID-1", date_of_birth=born)


def _url(participant: Participant) -> str:
    return f"/consent/participants/{participant.pk}/proxy/"


def _post(client: Client, participant: Participant, **changes: str) -> Any:
    data = {
        "email": "Gwen@Example.org",
        "full_name": "Gwen Guardian",
        "relationship": "mother",
        **changes,
    }
    return client.post(_url(participant), data)


def test_participants_page_offers_a_guardian_link_for_children_only(
    steward: User, child: Participant, enrolled: Participant, sign_in: Any
) -> None:
    page = sign_in(steward).get("/consent/participants/").content.decode()

    assert f'<a href="{_url(child)}">Link a guardian' in page
    assert _url(enrolled) not in page


def test_linking_a_new_guardian_invites_them(
    steward: User, child: Participant, sign_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = sign_in(steward)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, child)

    assert response.status_code == 302
    assert response["Location"] == "/consent/participants/"
    link = ParticipantProxy.objects.get()
    assert (link.participant, link.proxy.email, link.relationship, link.linked_by) == (
        child,
        "gwen@example.org",
        "mother",
        steward,
    )
    assert link.proxy.roles == [Role.PROXY]
    assert [m.to for m in mail.outbox] == [["gwen@example.org"]]
    page = client.get("/consent/participants/").content.decode()
    assert (
        "gwen@example.org now acts for KID-1. An invitation to their account was emailed." in page
    )
    assert "Gwen Guardian<br>" in page


def test_linking_an_existing_guardian_sends_no_invitation(
    steward: User, child: Participant, sign_in: Any, django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email="gwen@example.org", full_name="Gwen Guardian", role=Role.PROXY)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(sign_in(steward), child)

    assert response.status_code == 302
    assert mail.outbox == []


def test_linking_a_guardian_to_an_adult_is_refused(
    steward: User, enrolled: Participant, sign_in: Any
) -> None:
    enrolled.date_of_birth = dt.date(1980, 1, 1)
    enrolled.save()

    response = _post(sign_in(steward), enrolled)

    assert response.status_code == 400
    assert f"{enrolled.study_id} is an adult and consents for themselves." in (
        response.content.decode()
    )
    assert ParticipantProxy.objects.count() == 0


def test_linking_the_same_guardian_twice_is_refused(
    steward: User, child: Participant, sign_in: Any
) -> None:
    client = sign_in(steward)
    _post(client, child)

    response = _post(client, child)

    assert response.status_code == 400
    assert "gwen@example.org already acts for KID-1." in response.content.decode()
    assert ParticipantProxy.objects.count() == 1


def test_linking_needs_an_email_and_a_name(steward: User, child: Participant, sign_in: Any) -> None:
    response = _post(sign_in(steward), child, email="not-an-email", full_name="")

    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address." in page
    assert "This field is required." in page


def test_proxy_link_page_shows_the_child_and_current_guardians(
    steward: User, child: Participant, sign_in: Any
) -> None:
    client = sign_in(steward)
    _post(client, child)

    page = client.get(_url(child)).content.decode()

    assert "<h1>Link a guardian to KID-1</h1>" in page
    assert "Gwen Guardian (gwen@example.org), mother, since" in page


def test_proxy_link_page_unknown_participant_is_not_found(steward: User, sign_in: Any) -> None:
    assert sign_in(steward).get("/consent/participants/999/proxy/").status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_proxy_link_page_anonymous_is_sent_to_sign_in(
    client: Client, child: Participant, method: str
) -> None:
    response = getattr(client, method)(_url(child))

    assert response.status_code == 302
    assert response["Location"] == f"/account/sign-in/?next={_url(child)}"


@pytest.mark.parametrize("persona", ["outsider", "participant"])
def test_proxy_link_page_refuses_non_stewards(
    persona: str, child: Participant, request: pytest.FixtureRequest, sign_in: Any
) -> None:
    client = sign_in(request.getfixturevalue(persona))

    assert client.get(_url(child)).status_code == 403
    assert _post(client, child).status_code == 403
    assert ParticipantProxy.objects.count() == 0
