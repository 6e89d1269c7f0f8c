from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from portal.exceptions import PermissionError_
from portal.models import Role


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
