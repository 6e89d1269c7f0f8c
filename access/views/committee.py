"""Committee pages: the queue, the review page, votes, decisions, revocation; community use."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from datasets.selectors import committees_of
from portal.decorators import role_required
from portal.models import Role


@role_required(Role.DAC_MEMBER, Role.DAC_CHAIR)
def dac_home(request: HttpRequest) -> HttpResponse:
    committees = committees_of(request.user)
    return render(request, "access/dac_home.html", {"committees": committees})


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


review = vote = decide = revoke = community_use = _todo
