"""A shorter middleware chain for API requests that carry an API token and no session.

htslib, DRS and htsget clients ask for the same URL many times a second, each time with
`Authorization: Bearer <token>` and no cookie. For such a request the session, CSRF,
second-factor, messages, session-timeout, htmx and sign-in-lockout layers have nothing to
do: there is no session to load, no form to protect, no page to render. Those layers cost
about as much as the DRS answer itself (docs/benchmarks.md, DRS section), so these requests
take `CUSTODIAN_STATELESS_MIDDLEWARE`, which keeps every layer that can change their answer
or its headers: security headers, the request id, language, bad-input refusals, and
framing and content-security headers (a constant policy: an API answer loads nothing).

Everything else (a page, a cookie, a request without a token, a path outside /ga4gh/ and
/api/) takes the full `MIDDLEWARE` unchanged. `request.user` is the anonymous user until the
API view authenticates the token, exactly as the full chain leaves it for a request without
a session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

# The schemes ApiTokenAuthentication reads (portal/authentication.py).
_TOKEN_SCHEMES = ("bearer", "token")
# GA4GH clients (DRS, htsget, passports, beacon) and the REST API (`/api/v1/`: scripts and
# apps updating consent, requests and datasets with a token).
_STATELESS_PREFIXES = ("/ga4gh/", "/api/")


def is_stateless(request: HttpRequest) -> bool:
    """A GA4GH or REST API request with an API token and no session cookie."""
    if not request.path_info.startswith(_STATELESS_PREFIXES):
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return False
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    return scheme.lower() in _TOKEN_SCHEMES


class _StatelessHandler(BaseHandler):
    """Django's request handling (URL resolution, view and exception middleware, atomic
    views) behind a chain built from another list of middleware. The same steps as
    `BaseHandler.load_middleware` for a synchronous server."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self._view_middleware: list[Callable[..., HttpResponse | None]] = []
        self._template_response_middleware: list[Callable[..., HttpResponse]] = []
        self._exception_middleware: list[Callable[..., HttpResponse | None]] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(paths):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class StatelessApiMiddleware:
    """First in `MIDDLEWARE`: sends stateless API requests down the shorter chain."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.stateless = _StatelessHandler(settings.CUSTODIAN_STATELESS_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_stateless(request):
            return self.get_response(request)
        request.user = AnonymousUser()  # type: ignore[assignment]
        return cast(HttpResponse, self.stateless._middleware_chain(request))


# An API answer is JSON (or a redirect), never a document that loads anything: the strictest
# policy, as a constant instead of the pages' policy built per response by django-csp.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ApiHeadersMiddleware:
    """The framing and content-security headers of a stateless answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
