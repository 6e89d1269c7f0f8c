"""GA4GH Data Repository Service 1.2 at /ga4gh/drs/v1, with DRS 1.4's bulk requests.

Credentials: whatever the passport endpoints take (an API token as `Authorization: Bearer`,
or the session), or, in a POST body, `passports` holding visas this portal issued. Every
failure answers DRS's Error `{"msg", "status_code"}` with its status; none is a 500.
The reads are access/selectors/drs.py; the one write (asking for a delivery) is
access/services/drs.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.selectors.drs import (
    AccessUrl,
    Blob,
    Caller,
    DrsError,
    NeedsDelivery,
    Preparing,
    credential_caller,
    drs_access,
    drs_object,
    object_id_parse,
    passport_caller,
)
from access.services.drs import drs_delivery_request
from access.views.ga4gh import AUTHENTICATION, api_exception_answer
from portal.exceptions import PortalError

NO_CREDENTIALS = (
    "Send an API token (Authorization: Bearer <token>), or in a POST body a passport with "
    "visas this portal issued."
)
PREPARING = (
    "Your copy of this file is being prepared (consent-filtered where needed). Ask again after "
    "{seconds} seconds."
)


def drs_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response({"msg": message, "status_code": status}, status=status, headers=headers)


class DrsApi(APIView):
    """Authentication as configured for the GA4GH endpoints; rights are checked per object
    (a POST may bring a passport instead), and every error is DRS's Error."""

    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]
    # The API token scope each view needs (read by the token authentication; a POST here
    # only carries passports, so reading objects is a read). Preparing a file also needs
    # the download scope: credential_may_download in access/selectors/drs.py.
    token_scope = "read"  # noqa: S105 - a scope name, not a secret

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, PortalError):
            status = exc.http_status
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return drs_error(exc.message, status, headers)
        if isinstance(exc, drf_exceptions.APIException):
            status, detail = api_exception_answer(exc)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return drs_error(detail, status, headers)
        return super().handle_exception(exc)

    def body(self, request: Request) -> dict[str, Any]:
        data = request.data
        if not isinstance(data, dict):
            raise DrsError("The body must be a JSON object.")
        return data

    def caller(self, request: Request, body: dict[str, Any] | None = None) -> Caller:
        passports = (body or {}).get("passports")
        if passports is not None:
            if not isinstance(passports, list) or not all(isinstance(p, str) for p in passports):
                raise DrsError("passports must be a list of JWT strings.")
            if passports:
                return passport_caller(passports, user=request.user, auth=request.auth)
        if not request.user.is_authenticated:
            raise DrsError(NO_CREDENTIALS, http_status=401)
        return credential_caller(request.user, request.auth)

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/").rstrip("/")


def _answer(caller: Caller, outcome: Blob | AccessUrl | Preparing | NeedsDelivery) -> Response:
    if isinstance(outcome, NeedsDelivery):
        outcome = drs_delivery_request(caller=caller, needed=outcome)
    if isinstance(outcome, Preparing):
        return Response(
            {"msg": PREPARING.format(seconds=outcome.retry_after), "status_code": 202},
            status=202,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    return Response(outcome.as_drs())


class ServiceInfoApi(DrsApi):
    """GA4GH service-info: what this DRS is, its version, and the bulk limit."""

    authentication_classes = []  # type: ignore[var-annotated] # public, like the JWKS

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        host = request.get_host().split(":")[0]
        reverse_domain = ".".join(reversed(host.split("."))) if "." in host else host
        return Response(
            {
                "id": f"{reverse_domain}.custodian.drs",
                "name": "Custodian DRS",
                "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.2.0"},
                "description": (
                    "Data Repository Service for Custodian's genomic files: consent-filtered "
                    "where participants' consent requires it, through audited signed links."
                ),
                "organization": {"name": "Custodian", "url": settings.SITE_URL},
                "documentationUrl": f"{settings.SITE_URL}/api/docs/",
                "version": "1.0.0",
                # DRS 1.4: how many ids one bulk request may hold.
                "maxBulkRequestLength": settings.CUSTODIAN_DRS_BULK_LIMIT,
            }
        )


class ObjectApi(DrsApi):
    """GET/POST /objects/{object_id}: the DrsObject, or 202 while it is being prepared."""

    @extend_schema(exclude=True)
    def get(self, request: Request, object_id: str) -> Response:
        caller = self.caller(request)
        return _answer(caller, drs_object(caller, object_id_parse(object_id)))

    @extend_schema(exclude=True)
    def post(self, request: Request, object_id: str) -> Response:
        caller = self.caller(request, self.body(request))
        return _answer(caller, drs_object(caller, object_id_parse(object_id)))


class ObjectAccessApi(DrsApi):
    """GET/POST /objects/{object_id}/access/{access_id}: {url, headers} of a signed link."""

    token_scope = "download"  # noqa: S105 - a scope name, not a secret

    @extend_schema(exclude=True)
    def get(self, request: Request, object_id: str, access_id: str) -> Response:
        caller = self.caller(request)
        found = drs_access(
            caller, object_id_parse(object_id), access_id, base_url=self.base_url(request)
        )
        return _answer(caller, found)

    @extend_schema(exclude=True)
    def post(self, request: Request, object_id: str, access_id: str) -> Response:
        caller = self.caller(request, self.body(request))
        found = drs_access(
            caller, object_id_parse(object_id), access_id, base_url=self.base_url(request)
        )
        return _answer(caller, found)


# --- bulk requests (DRS 1.4 shapes) -----------------------------------------------------------


def _too_many(count: int) -> None:
    limit = settings.CUSTODIAN_DRS_BULK_LIMIT
    if count > limit:
        raise DrsError(
            f"This bulk request names {count} objects; at most {limit} are taken at once. "
            "Split it into smaller requests.",
            http_status=413,
        )


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DrsError(f"{field} must be a non-empty list of strings.")
    return list(dict.fromkeys(value))


class _Bulk:
    """Collects a bulk answer: results, refusals by status, and deliveries still needed."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.unresolved: dict[int, list[str]] = defaultdict(list)
        self.needed: dict[int, tuple[NeedsDelivery, list[str]]] = {}
        self.requested = 0
        self.resolved = 0

    def refuse(self, object_id: str, status: int) -> None:
        self.unresolved[status].append(object_id)

    def pending(self, object_id: str, outcome: Preparing | NeedsDelivery) -> None:
        if isinstance(outcome, NeedsDelivery):
            # One delivery per grant for all the files of the request that need one.
            entry = self.needed.setdefault(outcome.grant.pk, (outcome, []))
            entry[1].append(object_id)
            ids = entry[0].datafile_ids
            ids.extend(i for i in outcome.datafile_ids if i not in ids)
        else:
            self.refuse(object_id, 202)

    def finish(self, body: dict[str, Any]) -> Response:
        for needed, object_ids in self.needed.values():
            try:
                drs_delivery_request(caller=self.caller, needed=needed)
            except PortalError as exc:
                for object_id in object_ids:
                    self.refuse(object_id, exc.http_status)
                continue
            for object_id in object_ids:
                self.refuse(object_id, 202)
        unresolved = sum(len(v) for v in self.unresolved.values())
        answer = {
            "summary": {
                "requested": self.requested,
                "resolved": self.resolved,
                "unresolved": unresolved,
            },
            "unresolved_drs_objects": [
                {"error_code": code, "object_ids": ids}
                for code, ids in sorted(self.unresolved.items())
            ],
            **body,
        }
        headers = {"Retry-After": str(Preparing(0).retry_after)} if 202 in self.unresolved else {}
        return Response(answer, headers=headers)


class ObjectsBulkApi(DrsApi):
    """POST /objects {"bulk_object_ids": [...]}: resolved objects and, by status, the rest
    (202: being prepared, ask again after Retry-After)."""

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        body = self.body(request)
        ids = _strings(body.get("bulk_object_ids"), "bulk_object_ids")
        _too_many(len(ids))
        caller = self.caller(request, body)
        bulk = _Bulk(caller)
        bulk.requested = len(ids)
        found = []
        for raw in ids:
            try:
                outcome = drs_object(caller, object_id_parse(raw))
            except PortalError as exc:
                bulk.refuse(raw, exc.http_status)
                continue
            if isinstance(outcome, Blob):
                found.append(outcome.as_drs())
                bulk.resolved += 1
            else:
                bulk.pending(raw, outcome)
        return bulk.finish({"resolved_drs_object": found})


def _access_pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not value:
        raise DrsError("bulk_object_access_ids must be a non-empty list.")
    pairs: list[tuple[str, str]] = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("bulk_object_id"), str):
            raise DrsError(
                'Each bulk_object_access_ids entry is {"bulk_object_id": "...", '
                '"bulk_access_ids": ["..."]}.'
            )
        for access_id in _strings(entry.get("bulk_access_ids"), "bulk_access_ids"):
            pairs.append((entry["bulk_object_id"], access_id))
    return list(dict.fromkeys(pairs))


class ObjectsAccessBulkApi(DrsApi):
    """POST /objects/access {"bulk_object_access_ids": [{bulk_object_id, bulk_access_ids}]}."""

    token_scope = "download"  # noqa: S105 - a scope name, not a secret

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        body = self.body(request)
        pairs = _access_pairs(body.get("bulk_object_access_ids"))
        _too_many(len(pairs))
        caller = self.caller(request, body)
        base_url = self.base_url(request)
        bulk = _Bulk(caller)
        bulk.requested = len(pairs)
        found = []
        for raw, access_id in pairs:
            try:
                outcome = drs_access(caller, object_id_parse(raw), access_id, base_url=base_url)
            except PortalError as exc:
                bulk.refuse(raw, exc.http_status)
                continue
            if isinstance(outcome, AccessUrl):
                found.append({"drs_object_id": raw, "drs_access_id": access_id, **outcome.as_drs()})
                bulk.resolved += 1
            else:
                bulk.pending(raw, outcome)
        return bulk.finish({"resolved_drs_object_access_urls": found})
