from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.audit import request_id_var

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
_OTP_EXEMPT_PREFIXES = ("/account/otp/", "/account/sign-out/", "/static/", "/healthz")


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
