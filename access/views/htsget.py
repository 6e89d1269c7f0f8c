"""GA4GH htsget 1.3 at /ga4gh/htsget/v1: tickets for reads (BAM) and variants (VCF.gz), and
the slicing endpoint their one URL points at.

Tickets: `GET /reads/{id}` and `/variants/{id}` (format, class, referenceName, start, end) or
POST with `regions`. Credentials are an API token with the download scope (or the session).
The ticket's URL is `/access/slice/<link token>/<name>?region=...`: the caller's own signed,
time-limited delivery link (consent-filtered where needed), checked like a download on every
request, whose answer is the region written through pysam. While the caller's delivery is
being prepared the ticket answers 503 with Retry-After (htsget has no 202). Every refusal is
htsget's {"htsget": {"error", "message"}}.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.selectors.deliveries import link_for_download
from access.selectors.drs import Caller, NeedsDelivery, Preparing, credential_caller
from access.selectors.htsget import (
    ERROR_NAMES,
    FORMATS,
    READS,
    VARIANTS,
    HtsgetError,
    Query,
    invalid_input,
    query_of_get,
    query_of_post,
    region_of_param,
    slice_file,
    ticket,
)
from access.services.drs import drs_delivery_request
from access.views.ga4gh import AUTHENTICATION, api_exception_answer
from portal.exceptions import PortalError

CONTENT_TYPE = "application/vnd.ga4gh.htsget.v1.3.0+json; charset=utf-8"
PREPARING = (
    "Your copy of this file is being prepared (consent-filtered where needed). Ask again after "
    "{seconds} seconds."
)


def htsget_error(
    name: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        {"htsget": {"error": name, "message": message}},
        status=status,
        headers=headers,
        content_type=CONTENT_TYPE,
    )


def _error_of(exc: PortalError) -> Response:
    status = exc.http_status
    name = exc.name if isinstance(exc, HtsgetError) else ERROR_NAMES.get(status, "InvalidInput")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return htsget_error(name, exc.message, status, headers)


class JsonOnly(BaseContentNegotiation):
    """JSON whatever the request says: htsget's own `format` parameter (BAM, VCF) is not
    DRF's format override."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


class HtsgetApi(APIView):
    authentication_classes = AUTHENTICATION
    content_negotiation_class = JsonOnly
    permission_classes = [AllowAny]
    token_scope = "download"  # noqa: S105 - a scope name, not a secret
    endpoint = READS

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, PortalError):
            return _error_of(exc)
        if isinstance(exc, drf_exceptions.APIException):
            status, detail = api_exception_answer(exc)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return htsget_error(ERROR_NAMES.get(status, "InvalidInput"), detail, status, headers)
        return super().handle_exception(exc)

    def caller(self, request: Request) -> Caller:
        if not request.user.is_authenticated:
            raise HtsgetError(
                "InvalidAuthentication",
                "Send an API token with the download scope: Authorization: Bearer <token>.",
                http_status=401,
            )
        return credential_caller(request.user, request.auth)

    def answer(self, request: Request, object_id: str, query: Query) -> Response:
        caller = self.caller(request)
        base_url = request.build_absolute_uri("/").rstrip("/")
        found = ticket(caller, self.endpoint, object_id, query, base_url=base_url)
        if isinstance(found, NeedsDelivery):
            found = drs_delivery_request(caller=caller, needed=found)
        if isinstance(found, Preparing):
            seconds = str(found.retry_after)
            return htsget_error(
                "Unavailable",
                PREPARING.format(seconds=seconds),
                503,
                {"Retry-After": seconds},
            )
        return Response(found.as_htsget(), content_type=CONTENT_TYPE)

    @extend_schema(exclude=True)
    def get(self, request: Request, object_id: str) -> Response:
        return self.answer(request, object_id, query_of_get(self.endpoint, request.query_params))

    @extend_schema(exclude=True)
    def post(self, request: Request, object_id: str) -> Response:
        return self.answer(request, object_id, query_of_post(self.endpoint, request.data))


class ReadsApi(HtsgetApi):
    endpoint = READS


class VariantsApi(HtsgetApi):
    endpoint = VARIANTS


class ServiceInfoApi(HtsgetApi):
    """GA4GH service-info for the reads or the variants endpoint."""

    authentication_classes = []  # type: ignore[var-annotated] # public

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:  # type: ignore[override]
        host = request.get_host().split(":")[0]
        reverse_domain = ".".join(reversed(host.split("."))) if "." in host else host
        return Response(
            {
                "id": f"{reverse_domain}.custodian.htsget.{self.endpoint}",
                "name": f"Custodian htsget ({self.endpoint})",
                "type": {"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
                "description": (
                    "Regions of Custodian's genomic files, consent-filtered where participants' "
                    "consent requires it, through audited signed links."
                ),
                "organization": {"name": "Custodian", "url": settings.SITE_URL},
                "documentationUrl": f"{settings.SITE_URL}/api/docs/",
                "version": "1.0.0",
                "htsget": {
                    "datatype": self.endpoint,
                    "formats": list(FORMATS[self.endpoint]),
                    "fieldsParametersEffective": False,
                    "tagsParametersEffective": False,
                },
            }
        )

    @extend_schema(exclude=True)
    def post(self, request: Request, object_id: str = "") -> Response:  # type: ignore[override]
        raise drf_exceptions.MethodNotAllowed("POST")


class ReadsServiceInfoApi(ServiceInfoApi):
    endpoint = READS


class VariantsServiceInfoApi(ServiceInfoApi):
    endpoint = VARIANTS


# --- the slicing endpoint a ticket's URL points at ---------------------------------------------


def _slice_refused(exc: PortalError) -> HttpResponse:
    name = exc.name if isinstance(exc, HtsgetError) else ERROR_NAMES.get(exc.http_status, "")
    return HttpResponse(
        f"{name + ': ' if name else ''}{exc.message}",
        status=exc.http_status,
        content_type="text/plain; charset=utf-8",
    )


def _endpoint_of(filename: str) -> str:
    if filename.endswith(".bam"):
        return READS
    if filename.endswith((".vcf.gz", ".bcf")):
        return VARIANTS
    raise invalid_input(
        f"{filename} cannot be sliced here: only BAM, VCF.gz and BCF files can (a CRAM's "
        "ticket holds byte ranges of its download link)."
    )


def _slice_format(endpoint: str, value: str) -> str | None:
    if not value:
        return None
    if value in FORMATS[endpoint] and value != "CRAM":
        return value
    raise invalid_input(f"format must be {' or '.join(FORMATS[endpoint])}, not {value!r}.")


@require_http_methods(["GET"])
def slice_view(request: HttpRequest, token: str, filename: str) -> HttpResponseBase:
    """The header or the regions of the file a signed delivery link serves, checked exactly
    like a download of it (signature, expiry, revocation, grant, consent, file size)."""
    try:
        served = link_for_download(token, filename)
        endpoint = _endpoint_of(filename)
        klass: Any = request.GET.get("class", "")
        if klass not in ("", "header"):
            raise invalid_input("class must be 'header' or left out.")
        regions = [region_of_param(value) for value in request.GET.getlist("region")]
        answer_format = _slice_format(endpoint, request.GET.get("format", ""))
        path = slice_file(endpoint, served, klass == "header", regions, answer_format)
    except PortalError as exc:
        return _slice_refused(exc)
    handle = path.open("rb")
    path.unlink()  # the open handle keeps it readable until the response closes it
    response = FileResponse(handle, content_type="application/octet-stream")
    response["Cache-Control"] = "private, no-store"
    return response
