from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from portal.models import Role, User
from tests.conftest import link_from_last_email, totp_device, totp_now
from tests.factories import PASSWORD, UserFactory

SIGN_IN = "/account/sign-in/"
WRONG = "The email address or password is not correct."
NOT_CONFIRMED = "Your email address is not confirmed yet. We have sent you a new confirmation link."
LOCKED_OUT = "Too many failed sign-in attempts"

HOME_URLS = {
    "participant": "/consent/",
    "researcher": "/access/researcher/",
    "dac_member": "/access/committee/",
    "dac_chair": "/access/committee/",
    "steward": "/datasets/steward/",
}


def _errors(response: Any) -> list[str]:
    return list(response.context["form"].non_field_errors())


def _is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def unconfirmed(db: None) -> User:
    return UserFactory(
        email="new.researcher@example.org",
        role=Role.RESEARCHER,
        is_active=False,
        email_verified=False,
    )


@pytest.mark.parametrize("persona", list(HOME_URLS))
def test_sign_in_right_password_goes_to_role_home_via_home(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(persona)
    client = Client()

    response = client.post(SIGN_IN, {"email": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/home/"
    assert int(client.session["_auth_user_id"]) == user.pk
    if user.needs_otp:
        response = client.post("/account/otp/", {"token": totp_now(totp_device(user))})
        assert response.status_code == 302
        assert response["Location"] == "/home/"
    response = client.get("/home/")
    assert response.status_code == 302
    assert response["Location"] == HOME_URLS[persona]
    assert client.get(HOME_URLS[persona]).status_code == 200


def test_sign_in_email_is_case_insensitive(researcher: User) -> None:
    client = Client()

    response = client.post(SIGN_IN, {"email": "  Researcher@Example.ORG ", "password": PASSWORD})

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == researcher.pk


def test_sign_in_wrong_password_refused_with_generic_message(researcher: User) -> None:
    client = Client()

    response = client.post(SIGN_IN, {"email": researcher.email, "password": "not the password"})

    assert response.status_code == 400
    assert _errors(response) == [WRONG]
    assert WRONG in response.content.decode()
    assert not _is_signed_in(client)


def test_sign_in_unknown_email_refused_with_the_same_message(db: None) -> None:
    client = Client()

    response = client.post(SIGN_IN, {"email": "nobody@example.org", "password": PASSWORD})

    assert response.status_code == 400
    assert _errors(response) == [WRONG]
    assert not _is_signed_in(client)


def test_sign_in_unconfirmed_researcher_right_password_resends_confirmation(
    unconfirmed: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGN_IN, {"email": unconfirmed.email, "password": PASSWORD})

    assert response.status_code == 400
    assert _errors(response) == [NOT_CONFIRMED]
    assert not _is_signed_in(client)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [unconfirmed.email]
    assert mail.outbox[0].subject == "Confirm your email address for Custodian"
    # The new link works.
    response = client.get(link_from_last_email("/account/verify/"))
    assert response.status_code == 302
    unconfirmed.refresh_from_db()
    assert unconfirmed.is_active
    assert unconfirmed.email_verified


def test_sign_in_unconfirmed_researcher_wrong_password_gets_generic_message_and_no_email(
    unconfirmed: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(SIGN_IN, {"email": unconfirmed.email, "password": "wrong one"})

    assert response.status_code == 400
    assert _errors(response) == [WRONG]
    assert callbacks == []
    assert mail.outbox == []


def test_sign_in_invited_participant_not_yet_activated_gets_generic_message(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    invited = UserFactory(
        email="invited@example.org", role=Role.PARTICIPANT, is_active=False, email_verified=False
    )
    invited.set_unusable_password()
    invited.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(SIGN_IN, {"email": invited.email, "password": PASSWORD})

    assert response.status_code == 400
    assert _errors(response) == [WRONG]
    assert mail.outbox == []


def test_sign_in_locked_out_after_failure_limit_even_with_right_password(
    db: None, researcher: User
) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(SIGN_IN, {"email": researcher.email, "password": "guess"})
        assert response.status_code == 400
        assert _errors(response) == [WRONG]
    client.post(SIGN_IN, {"email": researcher.email, "password": "guess"})

    response = client.post(SIGN_IN, {"email": researcher.email, "password": PASSWORD})

    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    assert not _is_signed_in(client)


def test_sign_in_lockout_is_per_account(db: None, researcher: User, participant: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(SIGN_IN, {"email": researcher.email, "password": "guess"})

    response = Client().post(SIGN_IN, {"email": participant.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/home/"


def test_sign_in_below_failure_limit_right_password_still_works(db: None, researcher: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(SIGN_IN, {"email": researcher.email, "password": "guess"})

    response = client.post(SIGN_IN, {"email": researcher.email, "password": PASSWORD})

    assert response.status_code == 302
    assert _is_signed_in(client)


@pytest.mark.parametrize(
    "target", ["https://evil.example", "https://evil.example/home/", "//evil.example/"]
)
def test_sign_in_next_to_another_site_is_refused(researcher: User, target: str) -> None:
    client = Client()

    in_query = client.post(
        f"{SIGN_IN}?next={target}", {"email": researcher.email, "password": PASSWORD}
    )
    in_form = Client().post(
        SIGN_IN, {"email": researcher.email, "password": PASSWORD, "next": target}
    )

    assert in_query.status_code == 302
    assert in_query["Location"] == "/home/"
    assert in_form.status_code == 302
    assert in_form["Location"] == "/home/"


def test_sign_in_next_on_this_site_is_followed(researcher: User) -> None:
    response = Client().post(
        f"{SIGN_IN}?next=/account/", {"email": researcher.email, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/"


def test_sign_in_page_keeps_next_in_the_form(db: None) -> None:
    response = Client().get(f"{SIGN_IN}?next=/account/")

    assert response.status_code == 200
    assert '<input type="hidden" name="next" value="/account/">' in response.content.decode()


def test_sign_out_with_get_is_refused(researcher: User) -> None:
    client = Client()
    client.force_login(researcher)

    response = client.get("/account/sign-out/")

    assert response.status_code == 405
    assert _is_signed_in(client)
    assert client.get("/account/").status_code == 200


def test_sign_out_with_post_signs_out(researcher: User) -> None:
    client = Client()
    client.post(SIGN_IN, {"email": researcher.email, "password": PASSWORD})

    response = client.post("/account/sign-out/", follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert "You are signed out." in response.content.decode()
    assert not _is_signed_in(client)
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/account/"
