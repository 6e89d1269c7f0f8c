"""Deliveries: asking for links under a grant, the delivery page, and the signed download.

The download needs no session: the signed URL is the credential (htslib and curl send no
cookies), so it is open to anonymous requests and every check lives in the selector.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
import struct
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
    LinkGone,
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
# A yielded stream starts small and grows to what the client drains in about CHUNK_SECONDS,
# so a re-check waits at most about that long behind a slow client (see _next_chunk).
CHUNK_MIN = 256 * 1024
CHUNK_MAX = 16 * 1024 * 1024
CHUNK_SECONDS = 0.1
RECHECK_SECONDS = 0.5
# A client that takes nothing for this long is dropped (its thread is needed elsewhere).
IDLE_SECONDS = 120
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


def _cut_off(served: Servable) -> bool:
    if link_still_valid(served.link_id):
        return False
    logger.info("download cut off: link %s is no longer valid", served.link_id)
    return True


def _yielded(served: Servable, first: int, length: int) -> Iterator[bytes]:
    """The bytes [first, first + length) yielded to any WSGI server in chunks, re-checking the
    link between chunks at least every RECHECK_SECONDS; a cut-off raises, so the server
    drops the connection."""
    fd = os.open(served.path, os.O_RDONLY)
    try:
        offset, end = first, first + length
        chunk, checked = CHUNK_MIN, time.monotonic()
        while offset < end:
            began = time.monotonic()
            data = os.pread(fd, min(chunk, end - offset), offset)
            if not data:
                raise DownloadCutOff(f"link {served.link_id}: {served.name} shrank mid-stream")
            yield data
            offset += len(data)
            now = time.monotonic()
            chunk = _next_chunk(chunk, len(data), now - began)
            if offset < end and now - checked >= RECHECK_SECONDS:
                if _cut_off(served):
                    raise DownloadCutOff(f"link {served.link_id} is no longer valid")
                checked = now
    finally:
        os.close(fd)


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


def _sent(served: Servable, first: int, length: int, sock: socket.socket) -> Iterator[bytes]:
    """The same bytes written by sendfile() to gunicorn's socket, from the page cache as nginx
    does, in calls sized to about CHUNK_SECONDS of what the client takes (a blocking call
    returns when all is queued) and ended by a send timeout when the client takes nothing,
    so the link is re-checked on time while the thread wakes (and takes the GIL from the
    pages' threads) only a few times a second. A cut-off resets the connection: the client
    sees it end early, without what was still queued for it."""
    yield b""  # gunicorn writes the status line and headers on the first write
    fd = os.open(served.path, os.O_RDONLY)
    out = sock.fileno()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(RECHECK_SECONDS))
    # gunicorn sets TCP_NODELAY, so each sendfile() ends in a small segment; corked, the
    # kernel sends only full segments, as nginx does with tcp_nopush (measured on 1 GiB over
    # loopback: 1.45 GB/s uncorked, 2.0-2.3 corked, nginx 1.9-2.2).
    _cork(sock, on=True)
    try:
        offset, end = first, first + length
        chunk, checked = CHUNK_MIN, time.monotonic()
        progressed = checked
        while offset < end:
            began = time.monotonic()
            try:
                sent = os.sendfile(out, fd, offset, min(chunk, end - offset))
            except BlockingIOError:  # the client took nothing within the timeout
                sent = -1
            if sent == 0:
                raise DownloadCutOff(f"link {served.link_id}: {served.name} shrank mid-stream")
            now = time.monotonic()
            if sent > 0:
                offset, progressed = offset + sent, now
                chunk = _next_chunk(chunk, sent, now - began)
            if offset < end and now - checked >= RECHECK_SECONDS:
                if _cut_off(served) or now - progressed >= IDLE_SECONDS:
                    # Linger 0: when gunicorn closes the socket it resets the connection,
                    # dropping what is still queued for the client instead of sending it.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                checked = now
    finally:
        _cork(sock, on=False)  # sends what is left
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(0))
        os.close(fd)


def _cork(sock: socket.socket, *, on: bool) -> None:
    # Linux only; an OSError: the connection is gone (reset by a cut-off, or by the client).
    if hasattr(socket, "TCP_CORK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1 if on else 0)


def _socket(request: HttpRequest) -> socket.socket | None:
    """gunicorn's connection (its WSGI environ carries it), unless gunicorn itself speaks TLS:
    sendfile() would bypass the encryption."""
    sock = request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    return sock


def _body(
    request: HttpRequest, served: Servable, first: int, length: int, *, ranged: bool
) -> HttpResponseBase:
    if ranged and length <= CHUNK_MIN:
        # htslib's reads: one pread, sent at once, checked at the start like every request.
        with served.path.open("rb") as handle:
            data = os.pread(handle.fileno(), length, first)
        if len(data) != length:
            raise LinkGone(f"{served.name} has changed since this link was issued.")
        return HttpResponse(data)
    sock = _socket(request)
    if sock is None:
        return StreamingHttpResponse(_yielded(served, first, length))
    return StreamingHttpResponse(_sent(served, first, length, sock))


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
    else:
        first, last = wanted if wanted is not None else (0, served.size - 1)
        length = last - first + 1
        response = _body(request, served, first, length, ranged=wanted is not None)
        if wanted is not None:
            response.status_code = 206
            response["Content-Range"] = f"bytes {first}-{last}/{served.size}"
        response["Content-Length"] = str(length)
    response["Content-Type"] = "application/octet-stream"
    return response


def _refused(exc: PortalError) -> HttpResponse:
    return HttpResponse(
        exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8"
    )


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, token: str, filename: str) -> HttpResponseBase:
    try:
        served = link_for_download(token, filename)
    except PortalError as exc:
        return _refused(exc)
    # Range applies to GET only; HEAD describes the whole file.
    header = request.headers.get("Range", "") if request.method == "GET" else ""
    response: HttpResponseBase
    try:
        response = _serve(request, served, _byte_range(header, served.size))
    except PortalError as exc:
        return _refused(exc)
    except _Unsatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{served.size}"
        response["Content-Length"] = "0"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{served.sha256}"'
    response["Content-Disposition"] = f'attachment; filename="{served.name}"'
    response["Cache-Control"] = "private, no-store"
    return response
