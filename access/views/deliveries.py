"""Deliveries: asking for links under a grant, the delivery page, and the signed download.

The download needs no session: the signed URL is the credential (htslib and curl send no
cookies), so it is open to anonymous requests and every check lives in the selector.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from access import storage
from access.forms import DeliveryRevokeForm
from access.models import DeliveryStatus
from access.selectors.deliveries import (
    Servable,
    delivery_for,
    delivery_records,
    delivery_visible,
    link_for_download,
    link_still_valid,
    links_of,
)
from access.selectors.requests import grant_for
from access.services.deliveries import REVOKE_REFUSED, delivery_request, delivery_revoke
from portal.exceptions import NotFoundError, PortalError
from portal.models import User

logger = logging.getLogger(__name__)

POLL_SECONDS = 2
# A stream starts small and grows to what the client drains in about CHUNK_SECONDS, so a
# re-check waits at most about that long behind a slow client (see _next_chunk).
CHUNK_MIN = 256 * 1024
CHUNK_MAX = 8 * 1024 * 1024
CHUNK_SECONDS = 0.1
RECHECK_SECONDS = 0.5
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@login_required
@require_POST
def delivery_new(request: HttpRequest, grant_id: int) -> HttpResponse:
    user = cast(User, request.user)
    try:
        grant = grant_for(user, grant_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    try:
        delivery = delivery_request(actor=user, grant=grant)
    except PortalError as exc:
        context = {"message": exc.message}
        return render(request, "access/delivery_refused.html", context, status=exc.http_status)
    return redirect("access:delivery", delivery_id=delivery.pk)


@login_required
@require_http_methods(["GET"])
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    try:
        delivery = delivery_for(cast(User, request.user), delivery_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {
        "delivery": delivery,
        "preparing": delivery.status == DeliveryStatus.PREPARING,
        # A fresh delivery recomputes the consented set: after a withdrawal or an expiry.
        "can_ask_again": delivery.status != DeliveryStatus.PREPARING and delivery.grant.is_active,
        "links": links_of(delivery) if delivery.status == DeliveryStatus.READY else [],
        "record": delivery_records([delivery])[0],
        "revoke_form": DeliveryRevokeForm(),
        "poll_seconds": POLL_SECONDS,
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        # Presigned URLs cannot be stopped early: the page says so.
        "object_storage": storage.uses_object_storage(),
    }
    partial = bool(getattr(request, "htmx", False))
    template = "access/_delivery_status.html" if partial else "access/delivery.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def delivery_revoke_page(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """Confirm (GET) and revoke (POST) one delivery's links: its requester, a chair of a
    reviewing committee or a steward. The pages' inline forms post here too."""
    user = cast(User, request.user)
    try:
        delivery, rights = delivery_visible(user, delivery_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    form = DeliveryRevokeForm(request.POST if request.method == "POST" else None)
    problem, status = ("", 200) if rights.revoke else (REVOKE_REFUSED, 403)
    if request.method == "POST" and rights.revoke:
        status = 400
        if form.is_valid():
            try:
                delivery_revoke(actor=user, delivery=delivery, reason=form.cleaned_data["reason"])
            except PortalError as exc:
                problem, status = exc.message, exc.http_status
            else:
                messages.success(request, "The links were revoked: they no longer work.")
                if rights.own:
                    return redirect("access:delivery", delivery_id=delivery.pk)
                review = reverse("access:review", args=[delivery.grant.request.accession])
                return redirect(f"{review}#deliveries-heading")
    context = {
        "delivery": delivery,
        "record": delivery_records([delivery])[0],
        "rights": rights,
        "form": form,
        "problem": problem,
    }
    return render(request, "access/delivery_revoke.html", context, status=status)


class _Unsatisfiable(Exception):
    pass


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) for one satisfiable range; None to ignore the header (malformed or
    several ranges: RFC 9110 allows answering 200); _Unsatisfiable for a 416."""
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _Unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if end < start:
        return None
    if start >= size:
        raise _Unsatisfiable
    return start, min(end, size - 1)


class DownloadCutOff(Exception):
    """Raised inside a stream whose link stopped being valid. A WSGI server closes the
    connection when the body fails after the headers were sent, so the client gets fewer
    bytes than Content-Length announced and knows the download was cut off."""


def _next_chunk(chunk: int, sent: int, seconds: float) -> int:
    """About CHUNK_SECONDS of what the client took last time, in [CHUNK_MIN, CHUNK_MAX]: a
    chunk is written in one blocking call, so its size bounds how late a re-check can be."""
    if seconds <= 0:
        return min(chunk * 2, CHUNK_MAX)
    fitting = int(sent / seconds * CHUNK_SECONDS)
    return max(CHUNK_MIN, min(CHUNK_MAX, fitting, chunk * 2))


def _stream(
    served: Servable, first: int, length: int, sock: socket.socket | None
) -> Iterator[bytes]:
    """The bytes [first, first + length), re-checking the link every RECHECK_SECONDS: a
    withdrawal, a revoked link or an ended grant stops a download already under way.

    Under gunicorn (`sock`, its connection) each chunk goes by sendfile() straight from the
    page cache to the socket, as nginx does, and a cut-off shuts the socket; elsewhere the
    chunks are yielded to the server, and a cut-off raises so the server closes it.
    """
    if sock is not None:
        yield b""  # gunicorn writes the status line and headers on the first write
    fd = os.open(served.path, os.O_RDONLY)
    try:
        offset, end = first, first + length
        chunk, checked = CHUNK_MIN, time.monotonic()
        while offset < end:
            size, began = min(chunk, end - offset), time.monotonic()
            if sock is None:
                data = os.pread(fd, size, offset)
                sent = len(data)
                if sent:
                    yield data
            else:
                sent = os.sendfile(sock.fileno(), fd, offset, size)
            if sent == 0:
                raise DownloadCutOff(f"link {served.link_id}: {served.name} shrank mid-stream")
            offset += sent
            now = time.monotonic()
            chunk = _next_chunk(chunk, sent, now - began)
            if offset < end and now - checked >= RECHECK_SECONDS:
                if not link_still_valid(served.link_id):
                    logger.info("download cut off: link %s is no longer valid", served.link_id)
                    if sock is None:
                        raise DownloadCutOff(f"link {served.link_id} is no longer valid")
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                checked = now
    finally:
        os.close(fd)


def _socket(request: HttpRequest) -> socket.socket | None:
    """gunicorn's connection (its WSGI environ carries it), unless gunicorn itself speaks TLS:
    sendfile() would bypass the encryption."""
    sock = request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    return sock


def _serve(
    request: HttpRequest, served: Servable, wanted: tuple[int, int] | None
) -> HttpResponseBase:
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse()
        response["Content-Length"] = str(served.size)
    elif settings.CUSTODIAN_DOWNLOAD_MODE == "x-accel":
        # nginx serves the bytes (and the Range) from its internal location; every check
        # above ran for this request, but nothing re-checks once nginx has started.
        response = HttpResponse()
        prefix = settings.CUSTODIAN_X_ACCEL_PREFIX
        response["X-Accel-Redirect"] = f"{prefix}/{quote(served.relative)}"
    elif wanted is None:
        response = StreamingHttpResponse(_stream(served, 0, served.size, _socket(request)))
        response["Content-Length"] = str(served.size)
    else:
        first, last = wanted
        length = last - first + 1
        stream = _stream(served, first, length, _socket(request))
        response = StreamingHttpResponse(stream, status=206)
        response["Content-Range"] = f"bytes {first}-{last}/{served.size}"
        response["Content-Length"] = str(length)
    response["Content-Type"] = "application/octet-stream"
    return response


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, token: str, filename: str) -> HttpResponseBase:
    try:
        served = link_for_download(token, filename)
    except PortalError as exc:
        return HttpResponse(
            exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8"
        )
    # Range applies to GET only; HEAD describes the whole file.
    header = request.headers.get("Range", "") if request.method == "GET" else ""
    response: HttpResponseBase
    try:
        response = _serve(request, served, _byte_range(header, served.size))
    except _Unsatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{served.size}"
        response["Content-Length"] = "0"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{served.sha256}"'
    response["Content-Disposition"] = f'attachment; filename="{served.name}"'
    response["Cache-Control"] = "private, no-store"
    return response
