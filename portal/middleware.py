from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.translation import gettext as _

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
    "/readyz",
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
            and not user.is_verified()  # type: ignore[attr-defined] # django_otp adds it
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


class BadInputError(Exception):
    """A request no part of the portal can take, answered before any view sees it."""

    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


NUL_DETAIL = (
    "The request contains a NUL character (%00), which no field of this service can hold. "
    "Remove it and send the request again."
)


def _json_depth_and_nul(document: Any, max_depth: int) -> None:
    """Raise BadInputError if the parsed document nests deeper than max_depth or holds a
    NUL in any string or key. Iterative: the document may be as deep as the parser allowed."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise BadInputError(400, "nul_byte", NUL_DETAIL)
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise BadInputError(
                    400,
                    "json_too_deep",
                    f"The JSON body is nested more than {max_depth} levels deep.",
                )
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


def _has_nul(query: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


def check_request_input(request: HttpRequest) -> None:
    """The bounds every request meets, whatever view answers it (raises BadInputError).

    PostgreSQL refuses NUL in text (a 500 if it reaches a query), Python's JSON parser
    recurses per nesting level, and every body is read into memory at most
    DATA_UPLOAD_MAX_MEMORY_SIZE bytes at a time."""
    if "\x00" in request.path_info or (
        _has_nul(request.GET)
        and not request.path_info.startswith(settings.CUSTODIAN_OWN_QUERY_CHECKS)
    ):
        raise BadInputError(400, "nul_byte", NUL_DETAIL)
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    content_type = request.content_type or ""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            body = request.body
            try:
                document = json.loads(body)
            except RecursionError as exc:
                raise BadInputError(
                    400,
                    "json_too_deep",
                    f"The JSON body is nested more than {settings.CUSTODIAN_JSON_MAX_DEPTH} "
                    "levels deep.",
                ) from exc
            except ValueError:
                return  # The view's own parser says what is wrong with it.
            _json_depth_and_nul(document, settings.CUSTODIAN_JSON_MAX_DEPTH)
        elif (
            request.method == "POST"
            and content_type
            in {
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            }
            and _has_nul(request.POST)
        ):
            raise BadInputError(400, "nul_byte", NUL_DETAIL)
    except RequestDataTooBig as exc:
        raise BadInputError(
            413,
            "too_large",
            f"The request body is larger than {limit} bytes, the most accepted.",
        ) from exc
    except TooManyFieldsSent as exc:
        raise BadInputError(
            400,
            "too_many_fields",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields, "
            "the most accepted.",
        ) from exc


class BadInputMiddleware:
    """Refuses, in one place, requests with NUL bytes (path, query, form fields, JSON strings
    and keys), JSON nested too deep, and bodies over the size limit: a 400 or 413 error page,
    or problem+json for API clients."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_request_input(request)
        except BadInputError as exc:
            from portal.views import error_response

            return error_response(
                request, exc.status, _TITLES_BY_STATUS[exc.status], exc.detail, exc.code
            )
        return self.get_response(request)


_TITLES_BY_STATUS = {400: "Bad request", 413: "Request too large"}


SESSION_STARTED = "_custodian_started"
SESSION_SEEN = "_custodian_seen"
# The last-seen time is written at most this often: not a session write per request.
SEEN_RESOLUTION = 60


class SessionTimeoutMiddleware:
    """Ends a signed-in session after it sat idle, and a staff session (DAC members, chairs,
    stewards: needs_otp) after its total lifetime, whatever its activity.

    Staff: CUSTODIAN_STAFF_IDLE_SECONDS (30 minutes) and CUSTODIAN_STAFF_MAX_SECONDS (12
    hours); everyone else: CUSTODIAN_SESSION_IDLE_SECONDS. Pages then go to the sign-in page
    saying why; API calls with the session get the API's 401/403 as an anonymous caller."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault(SESSION_STARTED, now)
            seen = session.get(SESSION_SEEN, started)
            staff = user.needs_otp  # type: ignore[union-attr]
            idle = (
                settings.CUSTODIAN_STAFF_IDLE_SECONDS
                if staff
                else settings.CUSTODIAN_SESSION_IDLE_SECONDS
            )
            ended = None
            if now - seen > idle:
                ended = _("You were signed out after %(minutes)d minutes without activity.") % {
                    "minutes": idle // 60
                }
            elif staff and now - started > settings.CUSTODIAN_STAFF_MAX_SECONDS:
                ended = _(
                    "You were signed out: committee and steward sessions last at most "
                    "%(hours)d hours. Sign in again."
                ) % {"hours": settings.CUSTODIAN_STAFF_MAX_SECONDS // 3600}
            if ended is not None:
                logout(request)
                if not request.path.startswith(("/api/", "/ga4gh/")):
                    messages.info(request, ended)
                    return redirect_to_login(request.get_full_path())
            elif now - seen >= SEEN_RESOLUTION or SESSION_SEEN not in session:
                session[SESSION_SEEN] = now
        return self.get_response(request)
