"""Pages for every signed-in person (notices) and for participants ("who used my data")."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from access.selectors.requests import (
    PAGE_SIZE,
    data_uses_for_participant,
    notifications_of,
    unread_count,
)
from access.services import notifications_mark_read
from consent.selectors import participant_for_user
from portal.decorators import role_required, signed_in_user
from portal.models import Role


@role_required(Role.PARTICIPANT)
@require_GET
def data_use(request: HttpRequest) -> HttpResponse:
    """ "Who used my data": lives with the deliveries it lists, linked from the participant menu."""
    participant = participant_for_user(signed_in_user(request))
    uses = data_uses_for_participant(participant) if participant is not None else []
    return render(request, "access/data_use.html", {"uses": uses, "participant": participant})


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        marked = notifications_mark_read(actor=signed_in_user(request))
        messages.success(request, f"{marked} notice{'s' if marked != 1 else ''} marked read.")
        return redirect("access:notifications")
    page = Paginator(notifications_of(signed_in_user(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "unread": unread_count(signed_in_user(request))}
    return render(request, "access/notifications.html", context)
