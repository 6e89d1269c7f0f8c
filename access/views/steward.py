"""Stewards' pages: all requests, committees and their membership, agreement versions."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


steward_requests = steward_committees = steward_committee = _todo
