from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from portal.models import AuditEvent, Role, User
from tests.conftest import clock_moved_on, link_from_last_email
from tests.factories import PASSWORD, UserFactory

RESET = "/account/password-reset/"
NEW = "a brand new long passphrase"
SENT = "we have sent it a link to choose a new password"


def _passwords(password: str = NEW) -> dict[str, str]:
    return {"password": password, "password_again": password}


def _signs_in(email: str, password: str) -> bool:
    response = Client().post("/account/sign-in/", {"email": email, "password": password})
    return response.status_code == 302


@pytest.fixture
def reset_link(researcher: User, django_capture_on_commit_callbacks: Any) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(RESET, {"email": researcher.email})
    assert response.status_code == 200
    return link_from_last_email(RESET)


def test_password_reset_existing_account_gets_one_email_with_link(
    researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(RESET, {"email": "Researcher@Example.org"})

    assert response.status_code == 200
    assert "<h1>Check your email</h1>" in response.content.decode()
    assert SENT in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["researcher@example.org"]
    assert mail.outbox[0].subject == "Reset your Custodian password"
    assert "Hello Riley Researcher," in mail.outbox[0].body
    assert link_from_last_email(RESET).startswith(RESET)
    assert AuditEvent.objects.filter(
        action="user.password_reset_request", object_id=str(researcher.pk)
    ).exists()


def test_password_reset_unknown_email_gets_the_same_page_and_no_email(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(RESET, {"email": "nobody@example.org"})

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "portal/password_reset_sent.html"
    assert "<h1>Check your email</h1>" in response.content.decode()
    assert "If an account exists for <strong>nobody@example.org</strong>" in (
        response.content.decode()
    )
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="user.password_reset_request").exists()


def test_password_reset_inactive_account_gets_no_email(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email="dormant@example.org", role=Role.RESEARCHER, is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(RESET, {"email": "dormant@example.org"})

    assert response.status_code == 200
    assert SENT in response.content.decode()
    assert mail.outbox == []


def test_password_reset_invalid_email_refused(db: None) -> None:
    response = Client().post(RESET, {"email": "not an address"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"email": ["Enter a valid email address."]}


def test_password_reset_link_sets_new_password(researcher: User, reset_link: str) -> None:
    assert Client().get(reset_link).status_code == 200

    response = Client().post(reset_link, _passwords(), follow=True)

    assert response.redirect_chain == [("/account/sign-in/", 302)]
    assert "Your password is changed. Sign in with the new one." in response.content.decode()
    assert not _signs_in(researcher.email, PASSWORD)
    assert _signs_in(researcher.email, NEW)
    assert AuditEvent.objects.filter(
        action="user.password_reset", object_id=str(researcher.pk)
    ).exists()


def test_password_reset_reused_link_says_already_used(researcher: User, reset_link: str) -> None:
    assert Client().post(reset_link, _passwords()).status_code == 302

    response = Client().post(reset_link, _passwords("yet another long passphrase"))

    assert response.status_code == 400
    assert (
        "This password reset link has already been used. Sign in, or ask for a new link."
        in response.content.decode()
    )
    assert _signs_in(researcher.email, NEW)


def test_password_reset_link_used_up_by_a_sign_in(researcher: User, reset_link: str) -> None:
    # Signing in with the old password after asking proves the person still knows it.
    assert _signs_in(researcher.email, PASSWORD)

    response = Client().get(reset_link)

    assert response.status_code == 400
    assert "This password reset link has already been used." in response.content.decode()


def test_password_reset_link_valid_until_its_max_age(
    researcher: User, reset_link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.CUSTODIAN_PASSWORD_RESET_MAX_AGE == 3600
    clock_moved_on(monkeypatch, settings.CUSTODIAN_PASSWORD_RESET_MAX_AGE - 60)

    response = Client().post(reset_link, _passwords())

    assert response.status_code == 302
    researcher.refresh_from_db()
    assert researcher.check_password(NEW)


def test_password_reset_expired_link_says_expired(
    researcher: User, reset_link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_moved_on(monkeypatch, settings.CUSTODIAN_PASSWORD_RESET_MAX_AGE + 1)

    get = Client().get(reset_link)
    post = Client().post(reset_link, _passwords())

    message = "This password reset link has expired. Ask for a new one."
    assert get.status_code == 400
    assert message in get.content.decode()
    assert post.status_code == 400
    assert message in post.content.decode()
    researcher.refresh_from_db()
    assert researcher.check_password(PASSWORD)


def test_password_reset_tampered_link_says_not_valid(researcher: User, reset_link: str) -> None:
    response = Client().get(reset_link.replace(":", ":0", 1))

    assert response.status_code == 400
    assert (
        "This password reset link is not valid. Check that you copied the whole link."
        in response.content.decode()
    )


def test_password_reset_mismatched_passwords_refused(researcher: User, reset_link: str) -> None:
    response = Client().post(reset_link, {"password": NEW, "password_again": NEW + "."})

    assert response.status_code == 400
    assert response.context["form"].errors == {"password_again": ["The two passwords differ."]}
    researcher.refresh_from_db()
    assert researcher.check_password(PASSWORD)


def test_password_reset_weak_password_refused(researcher: User, reset_link: str) -> None:
    response = Client().post(reset_link, _passwords("short"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "password": ["This password is too short. It must contain at least 12 characters."]
    }
    researcher.refresh_from_db()
    assert researcher.check_password(PASSWORD)
