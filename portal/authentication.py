from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from portal.exceptions import PermissionError_
from portal.models import ApiToken, ApiTokenScope, Role, User
from portal.selectors import api_token_refusal, api_tokens_with_prefix
from portal.tokens import api_token_digest, api_token_prefix

# `last_used_at` is written at most this often per token: a busy script is not a write storm.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    """Personal API tokens, sent as `Authorization: Bearer <token>` (GA4GH clients) or
    `Authorization: Token <token>` (the API's older clients).

    A token that does not work is refused with 401 and the reason (expired, revoked, password
    changed, account deactivated). Its scope is checked here too, so no view can forget it:
    safe methods need `read`, others `write`, unless the view names the scope it needs in
    `token_scope` (asking for delivery links needs `download`). Sessions have no scope.
    """

    keywords = (b"bearer", b"token")

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise AuthenticationFailed(
                _(
                    "Send the token as “Authorization: Bearer <token>”: this header has no "
                    "token, or a space inside it."
                ),
                code="token_header_invalid",
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed(_invalid(), code="token_invalid") from exc
        token = self._find(secret)
        if token is None:
            raise AuthenticationFailed(_invalid(), code="token_invalid")
        now = timezone.now()
        refusal = api_token_refusal(token, now=now)
        if refusal is not None:
            code, message = refusal
            raise AuthenticationFailed(message, code=code)
        _check_scope(request, token)
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    @staticmethod
    def _find(secret: str) -> ApiToken | None:
        digest = api_token_digest(secret)
        candidates = api_tokens_with_prefix(api_token_prefix(secret))
        # Compared in constant time, so response times say nothing about stored digests.
        return next((t for t in candidates if hmac.compare_digest(t.digest, digest)), None)

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def _invalid() -> str:
    return _(
        "This API token is not valid. Check that you copied all of it, or create a new one "
        "on your account page."
    )


def _check_scope(request: Request, token: ApiToken) -> None:
    view = (getattr(request, "parser_context", None) or {}).get("view")
    needed = getattr(view, "token_scope", None) or (
        ApiTokenScope.READ if request.method in SAFE_METHODS else ApiTokenScope.WRITE
    )
    if token.allows(needed):
        return
    if token.scope == ApiTokenScope.READ and request.method not in SAFE_METHODS:
        message = _(
            "This API token is read-only: it cannot change anything. Use a token with the "
            "“%(needed)s” scope, or the web pages."
        ) % {"needed": needed}
    else:
        message = _(
            "This API token's scope is “%(scope)s”; this needs the “%(needed)s” scope. "
            "Create a token with that scope on your account page."
        ) % {"scope": token.scope, "needed": needed}
    raise PermissionError_(message, code="token_scope")


class OtpSessionAuthentication(SessionAuthentication):
    """Session sign-in for the API counts only once a required second factor is confirmed."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if settings.CUSTODIAN_REQUIRE_OTP and user.needs_otp and not user.is_verified():
            raise PermissionError_(
                "Confirm your authenticator code in the browser first, or use an API token.",
                code="otp_required",
            )
        return result


def has_role(request: Request, *roles: Role) -> bool:
    return bool(request.user.is_authenticated and request.user.has_role(*roles))


class IsParticipant(BasePermission):
    message = "This endpoint is for participants."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request, Role.PARTICIPANT)


class IsSteward(BasePermission):
    message = "This endpoint is for data stewards."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request, Role.STEWARD)
