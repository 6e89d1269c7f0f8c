"""One error type for the whole portal, rendered as problem+json (API) or in the page (HTML)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class PortalError(Exception):
    """A refusal with a message fit to show to the person who asked."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status

    @property
    def form_status(self) -> int:
        """The status of a page that shows this refusal beside the form it refused."""
        return self.http_status if self.http_status in {400, 409} else 400


class NotFoundError(PortalError):
    code = "not_found"
    http_status = 404


class PermissionError_(PortalError):  # noqa: N801 - avoids shadowing the builtin
    code = "forbidden"
    http_status = 403


class StaleStateError(PortalError):
    """Someone else changed the object since it was read."""

    code = "stale_state"
    http_status = 409


class InvalidLinkError(PortalError):
    code = "invalid_link"
    http_status = 400


def problem(status: int, title: str, detail: str, *, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"https://custodian.invalid/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Server error",
}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every API error is an RFC 9457 problem+json body."""
    # Imported here: rest_framework.views imports the authentication classes, which raise
    # PortalError, so a module-level import would be circular.
    from rest_framework.views import exception_handler

    if isinstance(exc, PortalError):
        # A refusal with several precise problems (by field) lists them all, like a
        # serializer's validation errors.
        errors = getattr(exc, "errors", None)
        body = problem(
            exc.http_status,
            _TITLES.get(exc.http_status, "Error"),
            exc.message,
            code=exc.code,
            **({"errors": errors} if errors is not None else {}),
        )
        return Response(body, status=exc.http_status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    status = response.status_code
    extra: dict[str, Any] = {}
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = "The request has invalid fields; see errors."
        extra["errors"] = response.data
        code = "invalid"
    else:
        data = response.data if isinstance(response.data, dict) else {}
        detail = str(data.get("detail", exc))
        code = str(
            getattr(getattr(exc, "detail", None), "code", None)
            or getattr(exc, "default_code", "error")
        )
    response.data = problem(status, _TITLES.get(status, "Error"), detail, code=code, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
