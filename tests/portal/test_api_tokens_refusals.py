"""A personal API token works as `Bearer` or `Token`, and stops with a 401 naming why: unknown,
revoked, expired, the password changed or was reset, the account deactivated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import ApiToken, AuditEvent, Role, User
from portal.services import api_token_revoke
from tests.conftest import link_from_last_email, signed_in_client
from tests.factories import PASSWORD, UserFactory, api_token_for

ME = "/api/v1/me/"


def _get(secret: str, scheme: str = "Bearer") -> Any:
    return Client().get(ME, headers={"Authorization": f"{scheme} {secret}"})


def _refusal(response: Any) -> tuple[int, str, str]:
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    return response.status_code, body["code"], body["detail"]


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer"])
def test_api_token_works_with_either_scheme(researcher: User, scheme: str) -> None:
    response = _get(api_token_for(researcher, "read"), scheme)

    assert response.status_code == 200
    assert response.json()["email"] == "researcher@example.org"


def test_api_token_unknown_secret_is_401(db: None) -> None:
    response = _get("cus_notarealtokenatallnotarealtokenatall0000000")

    assert _refusal(response) == (
        401,
        "token_invalid",
        "This API token is not valid. Check that you copied all of it, or create a new one "
        "on your account page.",
    )
    assert response["WWW-Authenticate"] == "Bearer"


def test_api_token_with_one_character_changed_is_401(researcher: User) -> None:
    secret = api_token_for(researcher)
    # Same prefix (so the same row is found), different digest.
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert _refusal(_get(tampered))[:2] == (401, "token_invalid")
    assert _get(secret).status_code == 200


def test_api_token_header_with_spaces_is_401(db: None) -> None:
    assert _refusal(_get("two words")) == (
        401,
        "token_header_invalid",
        "Send the token as “Authorization: Bearer <token>”: this header has no token, or a "
        "space inside it.",
    )


def test_api_token_revoked_is_401(researcher: User) -> None:
    secret = api_token_for(researcher)
    token = ApiToken.objects.get(user=researcher)
    assert _get(secret).status_code == 200

    api_token_revoke(actor=researcher, token=token)

    status, code, detail = _refusal(_get(secret))
    assert (status, code) == (401, "token_revoked")
    assert detail.startswith("This API token was revoked on ")


def test_api_token_revoked_message_names_the_date(researcher: User) -> None:
    secret = api_token_for(researcher)
    ApiToken.objects.filter(user=researcher).update(
        revoked_at=datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    )

    assert _refusal(_get(secret)) == (
        401,
        "token_revoked",
        "This API token was revoked on 1 March 2026, 10:30 GMT.",
    )


def test_api_token_expired_is_401_with_the_date(researcher: User) -> None:
    secret = api_token_for(researcher)
    ApiToken.objects.filter(user=researcher).update(
        created_at=datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        expires_at=datetime(2026, 2, 2, 9, 15, tzinfo=UTC),
    )

    assert _refusal(_get(secret)) == (
        401,
        "token_expired",
        "This API token expired on 2 February 2026, 09:15 GMT. Create a new one on your "
        "account page.",
    )


def test_api_token_one_second_before_expiry_still_works(researcher: User) -> None:
    secret = api_token_for(researcher)
    ApiToken.objects.filter(user=researcher).update(
        created_at=timezone.now() - timedelta(days=90),
        expires_at=timezone.now() + timedelta(minutes=5),
    )

    assert _get(secret).status_code == 200


PASSWORD_CHANGED = (
    401,
    "token_password_changed",
    "This API token stopped working when the account's password was changed or reset. "
    "Create a new one on your account page.",
)


def test_api_token_dies_when_the_password_is_changed(researcher: User) -> None:
    secret = api_token_for(researcher)
    assert _get(secret).status_code == 200

    # As the admin's password form and `manage.py changepassword` do.
    researcher.set_password("another long passphrase here")
    researcher.save()

    assert _refusal(_get(secret)) == PASSWORD_CHANGED


def test_api_token_dies_when_the_same_password_is_set_again(researcher: User) -> None:
    secret = api_token_for(researcher)

    researcher.set_password(PASSWORD)
    researcher.save()

    assert _refusal(_get(secret)) == PASSWORD_CHANGED


def test_api_token_dies_when_the_password_is_reset_by_email(
    researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    secret = api_token_for(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/account/password-reset/", {"email": researcher.email})
    link = link_from_last_email("/account/password-reset/")

    response = Client().post(
        link,
        {
            "password": "a brand new long passphrase",
            "password_again": "a brand new long passphrase",
        },
    )

    assert response.status_code == 302
    assert _refusal(_get(secret)) == PASSWORD_CHANGED


def test_api_token_made_after_the_password_change_works(researcher: User) -> None:
    old = api_token_for(researcher)
    researcher.set_password("another long passphrase here")
    researcher.save()

    new = api_token_for(researcher)

    assert _get(old).status_code == 401
    assert _get(new).status_code == 200


DEACTIVATED = (
    401,
    "account_inactive",
    "This account is deactivated, so its API tokens no longer work.",
)


def test_api_token_of_a_deactivated_account_is_401(researcher: User) -> None:
    secret = api_token_for(researcher)

    User.objects.filter(pk=researcher.pk).update(is_active=False)

    assert _refusal(_get(secret)) == DEACTIVATED


def _admin_change(admin: Client, user: User, *, active: bool) -> Any:
    form = {
        "email": user.email,
        "full_name": user.full_name,
        "institution": user.institution,
        "roles": user.roles,
        "email_verified": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
    }
    if active:
        form["is_active"] = "on"
    return admin.post(f"/admin/portal/user/{user.pk}/change/", form)


@pytest.fixture
def operator(db: None) -> User:
    return UserFactory(email="operator@example.org", role=Role.STEWARD, is_superuser=True)


def test_api_token_deactivated_in_the_admin_stays_dead_after_reactivation(
    researcher: User, operator: User
) -> None:
    secret = api_token_for(researcher)
    other = UserFactory(email="someone.else@example.org")
    others_secret = api_token_for(other)

    admin = signed_in_client(operator)

    response = _admin_change(admin, researcher, active=False)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _refusal(_get(secret)) == DEACTIVATED
    assert ApiToken.objects.get(user=researcher).revoked_at is not None
    event = AuditEvent.objects.get(action="api_token.revoke_all")
    assert (event.actor, event.object_id) == (operator, str(researcher.pk))
    assert event.after == {"tokens": 1, "reason": "account deactivated"}
    assert _get(others_secret).status_code == 200

    researcher.refresh_from_db()
    response = _admin_change(admin, researcher, active=True)

    assert response.status_code == 302
    assert User.objects.get(pk=researcher.pk).is_active
    assert _refusal(_get(secret))[:2] == (401, "token_revoked")


def test_api_token_use_is_recorded_at_most_once_a_minute(researcher: User) -> None:
    secret = api_token_for(researcher)
    token = ApiToken.objects.get(user=researcher)
    assert token.last_used_at is None

    _get(secret)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    _get(secret)
    second = ApiToken.objects.get(pk=token.pk).last_used_at

    assert first is not None
    assert second == first
    earlier = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    _get(secret)
    last = ApiToken.objects.get(pk=token.pk).last_used_at
    assert last is not None
    assert last > earlier


def test_api_token_dies_when_the_admin_password_form_sets_a_password(
    researcher: User, operator: User
) -> None:
    """Through the admin's own "change password" form, not set_password in the test."""
    secret = api_token_for(researcher)
    admin = signed_in_client(operator)

    response = admin.post(
        f"/admin/portal/user/{researcher.pk}/password/",
        {
            "usable_password": "true",
            "password1": "an operator's new long passphrase",
            "password2": "an operator's new long passphrase",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _refusal(_get(secret)) == PASSWORD_CHANGED


def test_api_token_dead_after_reset_is_refused_by_ga4gh_endpoints_too(
    researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    secret = api_token_for(researcher)
    passport = "/ga4gh/passport/v1/visas"
    assert Client().get(passport, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/account/password-reset/", {"email": researcher.email})
    new = "a brand new long passphrase"
    Client().post(
        link_from_last_email("/account/password-reset/"),
        {"password": new, "password_again": new},
    )

    response = Client().get(passport, HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "token_password_changed"
