from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from consent import selectors, services
from consent.forms import EnrolForm
from portal.decorators import role_required
from portal.exceptions import PortalError
from portal.models import Role


@role_required(Role.PARTICIPANT)
def home(request: HttpRequest) -> HttpResponse:
    participant = selectors.participant_for_user(request.user)
    return render(request, "consent/home.html", {"participant": participant})


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def participants(request: HttpRequest) -> HttpResponse:
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.participant_enrol(actor=request.user, **form.cleaned_data)
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{participant.study_id} is enrolled; an invitation was sent to "
                f"{participant.user.email}.",
            )
            return redirect("consent:participants")
    page = Paginator(selectors.participant_list(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "consent/participants.html",
        {"form": form, "page": page},
        status=400 if form.errors else 200,
    )
