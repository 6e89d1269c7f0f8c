"""Researchers' pages: my requests, the new-request wizard, the request page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from portal.decorators import role_required
from portal.models import Role


@role_required(Role.RESEARCHER)
def researcher_home(request: HttpRequest) -> HttpResponse:
    return render(request, "access/researcher_home.html")


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


request_new = request_detail = request_edit = request_submit = request_withdraw = _todo
request_renew = request_pdf = coapplicant_invite = coapplicant_cancel = agreements_accept = _todo
ethics_upload = ethics_download = invitation = _todo
