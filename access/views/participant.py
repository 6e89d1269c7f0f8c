"""Pages for every signed-in person (notices) and for participants ("who used my data")."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from consent.selectors import participant_for_user
from portal.decorators import role_required
from portal.models import Role


@role_required(Role.PARTICIPANT)
def data_use(request: HttpRequest) -> HttpResponse:
    """ "Who used my data": lives with the deliveries it lists, linked from the participant menu."""
    participant = participant_for_user(request.user)
    return render(request, "access/data_use.html", {"uses": [], "participant": participant})


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


notifications = _todo
