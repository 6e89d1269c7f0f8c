"""Reads on accounts: a person's API tokens, and why a token does not work."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from portal.exceptions import NotFoundError
from portal.models import ApiToken, OidcIdentity, User
from portal.tokens import password_stamp


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """Every token of the person, newest first (revoked and expired ones too)."""
    return ApiToken.objects.filter(user=user).select_related("user").order_by("-created_at", "-pk")


def api_tokens_active(user: User) -> QuerySet[ApiToken]:
    """The tokens that still work: not revoked, not expired, made with the current password."""
    return ApiToken.objects.filter(
        user=user,
        revoked_at=None,
        expires_at__gt=timezone.now(),
        password_stamp=password_stamp(user),
    )


def api_token_of(user: User, token_id: int) -> ApiToken:
    """One of the person's tokens; someone else's is "not found", like a missing one."""
    token = ApiToken.objects.filter(user=user, pk=token_id).select_related("user").first()
    if token is None:
        raise NotFoundError(_("There is no such API token among yours."))
    return token


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y, H:i T")


def api_token_refusal(token: ApiToken, *, now: datetime | None = None) -> tuple[str, str] | None:
    """Why the token no longer works, as (code, message in plain words); None while it works.

    Reads `token.user` (select it with the token)."""
    now = now or timezone.now()
    if not token.user.is_active:
        return "account_inactive", _(
            "This account is deactivated, so its API tokens no longer work."
        )
    if token.revoked_at is not None:
        return "token_revoked", _("This API token was revoked on %(when)s.") % {
            "when": _when(token.revoked_at)
        }
    if token.expires_at <= now:
        return "token_expired", _(
            "This API token expired on %(when)s. Create a new one on your account page."
        ) % {"when": _when(token.expires_at)}
    if token.password_stamp != password_stamp(token.user):
        return "token_password_changed", _(
            "This API token stopped working when the account's password was changed or "
            "reset. Create a new one on your account page."
        )
    return None


API_TOKEN_STATES = {
    None: "active",
    "token_revoked": "revoked",
    "token_expired": "expired",
    "token_password_changed": "password_changed",
    "account_inactive": "account_inactive",
}


def api_token_state(token: ApiToken, *, now: datetime | None = None) -> str:
    """active, revoked, expired, password_changed or account_inactive."""
    refusal = api_token_refusal(token, now=now)
    return API_TOKEN_STATES[refusal[0] if refusal else None]


def oidc_identities_of(user: User) -> QuerySet[OidcIdentity]:
    """The provider logins linked to the person's account."""
    return OidcIdentity.objects.filter(user=user).order_by("created_at", "pk")
