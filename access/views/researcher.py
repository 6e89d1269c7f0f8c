from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from consent.selectors import participant_for_user
from datasets.selectors import committees_of
from portal.decorators import role_required
from portal.models import Role


@role_required(Role.RESEARCHER)
def researcher_home(request: HttpRequest) -> HttpResponse:
    return render(request, "access/researcher_home.html")


@role_required(Role.DAC_MEMBER, Role.DAC_CHAIR)
def dac_home(request: HttpRequest) -> HttpResponse:
    committees = committees_of(request.user)
    return render(request, "access/dac_home.html", {"committees": committees})


@role_required(Role.PARTICIPANT)
def data_use(request: HttpRequest) -> HttpResponse:
    """ "Who used my data": lives with the deliveries it lists, linked from the participant menu."""
    participant = participant_for_user(request.user)
    return render(request, "access/data_use.html", {"uses": [], "participant": participant})
