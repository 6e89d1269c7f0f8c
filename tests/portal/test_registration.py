from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from portal.models import AuditEvent, Role, User
from tests.conftest import clock_moved_on, link_from_last_email
from tests.factories import PASSWORD

REGISTER = "/account/register/"
STRONG = "a long and unusual passphrase"


def _form(**changes: str) -> dict[str, str]:
    return {
        "full_name": "Robin Newcomer",
        "email": "robin@example.org",
        "institution": "Example Institute",
        "password": STRONG,
        "password_again": STRONG,
        **changes,
    }


@pytest.fixture
def registered(db: None, django_capture_on_commit_callbacks: Any) -> tuple[User, str, Any]:
    """A researcher who registered; their confirmation link; the registration response."""
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(REGISTER, _form())
    assert response.status_code == 200, response.content.decode()[:500]
    return (
        User.objects.get(email="robin@example.org"),
        link_from_last_email("/account/verify/"),
        response,
    )


def test_register_creates_inactive_researcher_and_sends_confirmation(
    registered: tuple[User, str, Any],
) -> None:
    user, link, response = registered

    assert "Check your email" in response.content.decode()
    assert "We sent a message to <strong>robin@example.org</strong>" in response.content.decode()
    assert user.roles == [Role.RESEARCHER]
    assert user.full_name == "Robin Newcomer"
    assert user.institution == "Example Institute"
    assert not user.is_active
    assert not user.email_verified
    assert user.check_password(STRONG)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["robin@example.org"]
    assert mail.outbox[0].subject == "Confirm your email address for Custodian"
    assert "Hello Robin Newcomer," in mail.outbox[0].body
    assert mail.outbox[0].body.count(settings.SITE_URL + link) == 1


def test_register_unconfirmed_account_cannot_sign_in(registered: tuple[User, str, Any]) -> None:
    client = Client()

    response = client.post("/account/sign-in/", {"email": "robin@example.org", "password": STRONG})

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_register_writes_audit_entry(registered: tuple[User, str, Any]) -> None:
    user, _, response = registered

    event = AuditEvent.objects.get(action="user.register")
    assert event.object_type == "portal.user"
    assert event.object_id == str(user.pk)
    assert event.actor is None
    assert event.actor_label == "system"
    assert event.after == {"role": "researcher"}
    assert event.request_id == response["X-Request-ID"]


def test_register_confirmation_link_activates_and_redirects_to_sign_in(
    registered: tuple[User, str, Any],
) -> None:
    user, link, _ = registered
    client = Client()

    response = client.get(link, follow=True)

    assert response.redirect_chain == [("/account/sign-in/", 302)]
    assert "Your email address is confirmed. You can sign in now." in response.content.decode()
    user.refresh_from_db()
    assert user.is_active
    assert user.email_verified
    assert (
        AuditEvent.objects.filter(action="user.verify_email", object_id=str(user.pk)).count() == 1
    )
    response = client.post("/account/sign-in/", {"email": user.email, "password": STRONG})
    assert response.status_code == 302
    assert response["Location"] == "/home/"


def test_register_confirmation_link_reused_says_already_used(
    registered: tuple[User, str, Any],
) -> None:
    _, link, _ = registered
    assert Client().get(link).status_code == 302

    response = Client().get(link)

    assert response.status_code == 400
    assert (
        "This email confirmation link has already been used. Sign in, or ask for a new link."
        in response.content.decode()
    )


def test_register_confirmation_link_valid_until_its_max_age(
    registered: tuple[User, str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, link, _ = registered
    clock_moved_on(monkeypatch, settings.CUSTODIAN_INVITATION_MAX_AGE - 60)

    response = Client().get(link)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active


def test_register_confirmation_link_expired_says_expired(
    registered: tuple[User, str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, link, _ = registered
    clock_moved_on(monkeypatch, settings.CUSTODIAN_INVITATION_MAX_AGE + 1)

    response = Client().get(link)

    assert response.status_code == 400
    assert (
        "This email confirmation link has expired. Ask for a new one." in response.content.decode()
    )
    user.refresh_from_db()
    assert not user.is_active
    assert not user.email_verified


def test_register_confirmation_link_tampered_says_not_valid(
    registered: tuple[User, str, Any],
) -> None:
    user, link, _ = registered
    token = link.removeprefix("/account/verify/").removesuffix("/")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = Client().get(f"/account/verify/{tampered}/")

    assert response.status_code == 400
    assert (
        "This email confirmation link is not valid. Check that you copied the whole link."
        in response.content.decode()
    )
    user.refresh_from_db()
    assert not user.is_active


def test_register_known_email_gets_the_same_page_and_its_owner_an_email(
    researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        new = Client().post(REGISTER, _form())
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        known = Client().post(REGISTER, _form(email="Researcher@EXAMPLE.org"))

    assert known.status_code == new.status_code == 200
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert token.sub("", known.content.decode()).replace(
        "researcher@example.org", "robin@example.org"
    ) == token.sub("", new.content.decode())
    assert User.objects.filter(email__iexact="researcher@example.org").count() == 1
    assert not User.objects.get(email="researcher@example.org").check_password(STRONG)
    (message,) = mail.outbox
    assert message.to == ["researcher@example.org"]
    assert message.subject == "Someone tried to register with your Custodian address"
    assert "It already has an account, so nothing was changed." in message.body
    assert f"{settings.SITE_URL}/account/password-reset/" in message.body
    event = AuditEvent.objects.get(action="user.register_existing")
    assert event.object_id == str(researcher.pk)


def test_register_weak_password_refused_on_the_password_field(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(REGISTER, _form(password="short", password_again="short"))

    assert response.status_code == 400
    # On the field, next to the input, as the activation and reset pages do.
    assert response.context["form"].errors.get("password") == [
        "This password is too short. It must contain at least 12 characters."
    ]
    assert not User.objects.filter(email="robin@example.org").exists()
    assert mail.outbox == []


def test_register_common_password_refused(db: None) -> None:
    response = Client().post(
        REGISTER, _form(password="password1234", password_again="password1234")
    )

    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()
    assert not User.objects.filter(email="robin@example.org").exists()


def test_register_mismatched_passwords_refused_on_the_second_field(db: None) -> None:
    response = Client().post(REGISTER, _form(password_again=STRONG + "!"))

    assert response.status_code == 400
    assert response.context["form"].errors == {"password_again": ["The two passwords differ."]}
    assert not User.objects.filter(email="robin@example.org").exists()


def test_register_missing_fields_refused(db: None) -> None:
    response = Client().post(REGISTER, {"email": "not-an-address", "password": PASSWORD})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["email"] == ["Enter a valid email address."]
    assert errors["full_name"] == ["This field is required."]
    assert errors["institution"] == ["This field is required."]
    assert "This field is required." in errors["password_again"]
    assert User.objects.count() == 0
