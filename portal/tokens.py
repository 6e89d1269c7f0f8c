"""Single-use, expiring links (invitation, email confirmation, password reset), and the
secrets of personal API tokens.

A link carries the user id and a fingerprint of the account's state, signed with a timestamp.
Changing the password (or activating the account) changes the fingerprint, so a used link
is recognised as used, and an old one as expired, each with its own message.
"""

from __future__ import annotations

import hashlib
import secrets

from django.core import signing

from portal.exceptions import InvalidLinkError
from portal.models import User

PURPOSES = {
    "invitation": "This invitation link",
    "verify-email": "This email confirmation link",
    "password-reset": "This password reset link",
    "otp-enrolment": "This authenticator enrolment link",
}


def _fingerprint(user: User) -> str:
    state = f"{user.pk}|{user.password}|{user.is_active}|{user.email_verified}|{user.last_login}"
    return hashlib.sha256(state.encode()).hexdigest()[:20]


def make_link_token(user: User, purpose: str) -> str:
    signer = signing.TimestampSigner(salt=f"custodian.link.{purpose}")
    return signer.sign(f"{user.pk}:{_fingerprint(user)}")


def check_link_token(token: str, purpose: str, *, max_age: int) -> User:
    """The user the link belongs to, or InvalidLinkError saying what is wrong with it."""
    what = PURPOSES[purpose]
    signer = signing.TimestampSigner(salt=f"custodian.link.{purpose}")
    try:
        value = signer.unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvalidLinkError(
            f"{what} has expired. Ask for a new one.", code="link_expired"
        ) from exc
    except signing.BadSignature as exc:
        raise InvalidLinkError(
            f"{what} is not valid. Check that you copied the whole link.", code="link_invalid"
        ) from exc
    user_id, _, fingerprint = value.partition(":")
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise InvalidLinkError(f"{what} is not valid: the account no longer exists.")
    if fingerprint != _fingerprint(user):
        raise InvalidLinkError(
            f"{what} has already been used. Sign in, or ask for a new link.", code="link_used"
        )
    return user


# A recognisable start lets secret scanners (and people) tell a Custodian token apart.
API_TOKEN_MARK = "cus_"  # noqa: S105 - a public marker, not a secret
API_TOKEN_PREFIX_LENGTH = 12


def api_token_secret_new() -> str:
    """256 random bits, URL-safe (fits a header and a shell variable without quoting)."""
    return API_TOKEN_MARK + secrets.token_urlsafe(32)


def api_token_prefix(secret: str) -> str:
    return secret[:API_TOKEN_PREFIX_LENGTH]


def api_token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def password_stamp(user: User) -> str:
    """Changes whenever the password is set (each hash has a new salt), reset or made
    unusable; stored with a token, it ends the token then."""
    return hashlib.sha256(f"{user.pk}|{user.password}".encode()).hexdigest()
