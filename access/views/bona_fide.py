"""Bona fide researcher status: the researcher names their signing official, who confirms
or declines through an emailed link without an account."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from access.selectors.visas import latest_official_request, official_status
from access.services.base import AccessProblems
from access.services.visas import BONA_FIDE_DAYS, official_answer, official_ask, official_from_token
from portal.decorators import role_required
from portal.exceptions import PortalError
from portal.models import Role, User


class OfficialForm(forms.Form):
    official_name = forms.CharField(label="Your signing official's name", max_length=200)
    official_email = forms.EmailField(
        label="Your signing official's email",
        help_text="The official's address at your institution: the link is sent there.",
    )
    institution = forms.CharField(label="Institution", max_length=200)


@role_required(Role.RESEARCHER)
@require_http_methods(["GET", "POST"])
def bona_fide(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    latest = latest_official_request(user)
    initial = {"institution": user.institution}
    if latest is not None:
        initial = {
            "official_name": latest.official_name,
            "official_email": latest.official_email,
            "institution": latest.institution,
        }
    form = OfficialForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            official_ask(actor=user, **form.cleaned_data)
        except AccessProblems as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            status = 400
        except PortalError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            messages.success(
                request, f"We emailed {form.cleaned_data['official_email']} a link to confirm."
            )
            return redirect("access:bona_fide")
    elif request.method == "POST":
        status = 400
    context = {
        "form": form,
        "in_force": official_status(user),
        "latest": latest,
        "days": BONA_FIDE_DAYS,
    }
    return render(request, "access/bona_fide.html", context, status=status)


@require_http_methods(["GET", "POST"])
def bona_fide_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The signing official's page: who asks, and confirm or decline (no account needed)."""
    try:
        confirmation = official_from_token(token)
        if request.method == "POST":
            answer = request.POST.get("answer")
            if answer not in {"confirm", "decline"}:
                raise PortalError("Choose whether you confirm or decline.")
            confirmation = official_answer(token=token, confirm=answer == "confirm")
            return render(
                request,
                "access/bona_fide_answer.html",
                {"answered": confirmation, "days": BONA_FIDE_DAYS},
            )
    except PortalError as exc:
        return render(
            request, "access/bona_fide_answer.html", {"error": exc.message}, status=exc.http_status
        )
    context = {
        "confirmation": confirmation,
        "researcher": confirmation.researcher,
        "days": BONA_FIDE_DAYS,
    }
    return render(request, "access/bona_fide_answer.html", context)
