from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.audit import request_id_var
from portal.oidc import MFA_SESSION_KEY

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Tags each request with an id (the proxy's X-Request-ID or a new one) for the audit log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


# Pages a signed-in user without a verified second factor may still reach.
# Signing in again through the provider too (linking a login is not exempt: see sso_callback).
_OTP_EXEMPT_PREFIXES = (
    "/account/otp/",
    "/account/sign-out/",
    "/account/sso/start/",
    "/account/sso/callback/",
    "/static/",
    "/healthz",
)


class RequireOtpMiddleware:
    """DAC members, chairs and stewards must confirm a TOTP code before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.CUSTODIAN_REQUIRE_OTP
            and user.is_authenticated
            and user.needs_otp
            and not user.is_verified()
            and not request.path.startswith(_OTP_EXEMPT_PREFIXES)
            # API clients authenticate with tokens, checked by DRF, not the session (GA4GH
            # endpoints too: they refuse an unconfirmed session themselves).
            and not request.path.startswith(("/api/", "/ga4gh/"))
        ):
            return redirect("portal:otp")
        return self.get_response(request)


class ProviderMfaMiddleware:
    """A session the single sign-on provider opened with several factors (portal/oidc.py)
    counts as verified, exactly as if the authenticator code had been entered: every check of
    django-otp's `is_verified()` (the page middleware above, the API's session
    authentication) then lets it through. Runs after django-otp's middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        mfa_user_id = (
            request.session.get(MFA_SESSION_KEY) if settings.CUSTODIAN_REQUIRE_OTP else None
        )
        if mfa_user_id is not None:
            user = request.user
            # Signing out or in as someone else flushes the session; the id check is a
            # second guard, so the key can never vouch for another person.
            if user.is_authenticated and user.pk == mfa_user_id:
                user.is_verified = lambda: True  # type: ignore[attr-defined,union-attr]
        return self.get_response(request)
