from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from consent.selectors import participant_count
from portal.decorators import role_required
from portal.models import Role


@role_required(Role.STEWARD)
def steward_home(request: HttpRequest) -> HttpResponse:
    return render(request, "datasets/steward_home.html", {"participants": participant_count()})
