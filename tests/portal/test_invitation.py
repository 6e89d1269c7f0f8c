from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from consent.models import Participant
from portal.models import AuditEvent, Role, User
from tests.conftest import clock_moved_on, link_from_last_email, signed_in_client
from tests.factories import ParticipantFactory

PARTICIPANTS = "/consent/participants/"
STRONG = "a long and unusual passphrase"
ENROL = {"study_id": "STUDY-042", "full_name": "Alex Invitee", "email": "Alex@Example.org"}


def _passwords(password: str = STRONG) -> dict[str, str]:
    return {"password": password, "password_again": password}


@pytest.fixture
def steward_client(steward: User) -> Client:
    return signed_in_client(steward)


@pytest.fixture
def invitation(steward_client: Client, django_capture_on_commit_callbacks: Any) -> str:
    """A steward enrolled Alex; the activation link from the invitation email."""
    with django_capture_on_commit_callbacks(execute=True):
        response = steward_client.post(PARTICIPANTS, ENROL)
    assert response.status_code == 302, response.content.decode()[:800]
    return link_from_last_email("/account/activate/")


def _invitee() -> User:
    return User.objects.get(email="alex@example.org")


def test_invitation_enrolment_creates_inactive_participant_and_emails_link(
    steward: User, steward_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = steward_client.post(PARTICIPANTS, ENROL, follow=True)

    assert response.redirect_chain == [(PARTICIPANTS, 302)]
    page = response.content.decode()
    assert "STUDY-042 is enrolled; an invitation was sent to alex@example.org." in page
    assert "<td>STUDY-042</td><td>Alex Invitee</td><td>alex@example.org</td><td>invited</td>" in (
        page
    )
    participant = Participant.objects.get(study_id="STUDY-042")
    assert participant.enrolled_by == steward
    user = participant.user
    assert user.email == "alex@example.org"
    assert user.roles == [Role.PARTICIPANT]
    assert not user.is_active
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["alex@example.org"]
    assert email.subject == "Your invitation to Custodian"
    assert "Hello Alex Invitee," in email.body
    assert "Sam Steward has created a Custodian account for you" in email.body
    assert f"{settings.SITE_URL}/account/activate/" in email.body


def test_invitation_link_shows_form_with_the_persons_name(invitation: str) -> None:
    response = Client().get(invitation)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Welcome, Alex Invitee</h1>" in page
    assert "Choose a password for <strong>alex@example.org</strong>" in page


def test_invitation_password_activates_signs_in_and_lands_on_participant_home(
    invitation: str,
) -> None:
    client = Client()

    response = client.post(invitation, _passwords(), follow=True)

    assert response.redirect_chain == [("/home/", 302), ("/consent/", 302)]
    assert response.status_code == 200
    assert "Your account is active. Welcome to Custodian." in response.content.decode()
    assert "Your study ID is <strong>STUDY-042</strong>." in response.content.decode()
    user = _invitee()
    assert int(client.session["_auth_user_id"]) == user.pk
    assert user.is_active
    assert user.email_verified
    assert user.check_password(STRONG)
    assert AuditEvent.objects.filter(action="user.activate", object_id=str(user.pk)).count() == 1
    response = Client().post("/account/sign-in/", {"email": user.email, "password": STRONG})
    assert response.status_code == 302


def test_invitation_reused_link_says_already_used(invitation: str) -> None:
    assert Client().post(invitation, _passwords()).status_code == 302

    get = Client().get(invitation)
    post = Client().post(invitation, _passwords("another long passphrase"))

    message = "This invitation link has already been used. Sign in, or ask for a new link."
    assert get.status_code == 400
    assert message in get.content.decode()
    assert post.status_code == 400
    assert message in post.content.decode()
    assert _invitee().check_password(STRONG)


def test_invitation_link_valid_until_its_max_age(
    invitation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_moved_on(monkeypatch, settings.CUSTODIAN_INVITATION_MAX_AGE - 60)

    response = Client().post(invitation, _passwords())

    assert response.status_code == 302
    assert _invitee().is_active


def test_invitation_expired_link_says_expired(
    invitation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_moved_on(monkeypatch, settings.CUSTODIAN_INVITATION_MAX_AGE + 1)

    get = Client().get(invitation)
    post = Client().post(invitation, _passwords())

    message = "This invitation link has expired. Ask for a new one."
    assert get.status_code == 400
    assert message in get.content.decode()
    assert post.status_code == 400
    assert message in post.content.decode()
    assert not _invitee().is_active


def test_invitation_tampered_link_says_not_valid(invitation: str) -> None:
    tampered = invitation.replace(":", ":9", 1)

    response = Client().post(tampered, _passwords())

    assert response.status_code == 400
    assert (
        "This invitation link is not valid. Check that you copied the whole link."
        in response.content.decode()
    )
    assert not _invitee().is_active


def test_invitation_link_is_not_an_email_confirmation_link(invitation: str) -> None:
    token = invitation.removeprefix("/account/activate/")

    response = Client().get(f"/account/verify/{token}")

    assert response.status_code == 400
    assert "This email confirmation link is not valid." in response.content.decode()
    assert not _invitee().is_active


def test_invitation_weak_password_refused_without_activating(invitation: str) -> None:
    client = Client()

    response = client.post(invitation, _passwords("short"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "password": ["This password is too short. It must contain at least 12 characters."]
    }
    user = _invitee()
    assert not user.is_active
    assert not user.has_usable_password()
    assert "_auth_user_id" not in client.session
    # The link is still good for a better password.
    assert client.post(invitation, _passwords()).status_code == 302


def test_invitation_mismatched_passwords_refused(invitation: str) -> None:
    response = Client().post(invitation, {"password": STRONG, "password_again": STRONG.upper()})

    assert response.status_code == 400
    assert response.context["form"].errors == {"password_again": ["The two passwords differ."]}
    assert not _invitee().is_active


def test_invitation_duplicate_study_id_refused_and_nothing_written(
    steward_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    ParticipantFactory(study_id="STUDY-042")
    users, participants = User.objects.count(), Participant.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = steward_client.post(PARTICIPANTS, ENROL)

    assert response.status_code == 400
    assert "The study ID STUDY-042 is already enrolled." in response.content.decode()
    assert not User.objects.filter(email="alex@example.org").exists()
    assert (User.objects.count(), Participant.objects.count()) == (users, participants)
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action__in=["user.invite", "participant.enrol"]).exists()


def test_invitation_duplicate_email_refused_and_nothing_written(
    participant: User, steward_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    participants = Participant.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = steward_client.post(PARTICIPANTS, {**ENROL, "email": "Participant@Example.org"})

    assert response.status_code == 400
    assert "An account with the email participant@example.org already exists." in (
        response.content.decode()
    )
    assert not Participant.objects.filter(study_id="STUDY-042").exists()
    assert Participant.objects.count() == participants
    assert mail.outbox == []


def test_invitation_enrolment_form_errors_are_on_the_fields(steward_client: Client) -> None:
    response = steward_client.post(PARTICIPANTS, {"study_id": "", "email": "nope"})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["study_id"] == ["This field is required."]
    assert errors["full_name"] == ["This field is required."]
    assert errors["email"] == ["Enter a valid email address."]
    assert Participant.objects.count() == 0


@pytest.mark.parametrize(
    "persona", ["participant", "researcher", "outsider", "dac_member", "dac_chair"]
)
def test_invitation_enrolment_page_refused_to_other_roles(
    persona: str, request: pytest.FixtureRequest, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in_client(request.getfixturevalue(persona))

    get = client.get(PARTICIPANTS)
    with django_capture_on_commit_callbacks(execute=True):
        post = client.post(PARTICIPANTS, ENROL)

    assert get.status_code == 403
    assert "This page is for data stewards." in get.content.decode()
    assert post.status_code == 403
    assert not Participant.objects.filter(study_id="STUDY-042").exists()
    assert mail.outbox == []


def test_invitation_enrolment_page_sends_anonymous_to_sign_in(db: None) -> None:
    get = Client().get(PARTICIPANTS)
    post = Client().post(PARTICIPANTS, ENROL)

    assert get.status_code == 302
    assert get["Location"] == "/account/sign-in/?next=/consent/participants/"
    assert post.status_code == 302
    assert post["Location"] == "/account/sign-in/?next=/consent/participants/"
    assert not User.objects.filter(email="alex@example.org").exists()
