"""Stewards' pages: all requests, committees and their membership, agreement versions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from access.committee_forms import (
    AgreementForm,
    CommitteeCreateForm,
    CommitteeSettingsForm,
    MemberAddForm,
    MemberForm,
    StateFilterForm,
)
from access.selectors import beacon as beacon_selectors
from access.selectors import committees as committee_selectors
from access.selectors import requests as selectors
from access.services import agreement_publish
from datasets.models import Committee
from datasets.services.committees import (
    committee_create,
    committee_member_add,
    committee_member_remove,
    committee_update,
)
from portal.decorators import role_required, signed_in_user
from portal.exceptions import NotFoundError, PortalError
from portal.models import Role

BEACON_DAYS = 30


@role_required(Role.STEWARD)
@require_GET
def steward_requests(request: HttpRequest) -> HttpResponse:
    form = StateFilterForm(request.GET)
    state = form.state_value()
    page = Paginator(selectors.steward_requests(state=state), selectors.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "state": state}
    return render(request, "access/steward_requests.html", context)


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def steward_committees(request: HttpRequest) -> HttpResponse:
    form = CommitteeCreateForm(request.POST if request.method == "POST" else None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        try:
            committee = committee_create(actor=signed_in_user(request), **form.cleaned_data)
        except PortalError as exc:
            problem = exc.message
        else:
            messages.success(request, f"The {committee.name} was created.")
            return redirect("access:steward_committee", committee_id=committee.pk)
    context = {
        "form": form,
        "problem": problem,
        "committees": committee_selectors.committees_with_counts(),
    }
    status = 400 if form.errors or problem else 200
    return render(request, "access/steward_committees.html", context, status=status)


# The committee page holds several forms; `action` says which one was sent.
_ACTIONS = {"settings", "add", "chair", "remove", "publish"}


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def steward_committee(request: HttpRequest, committee_id: int) -> HttpResponse:
    try:
        committee = committee_selectors.committee_for_steward(committee_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST" and action not in _ACTIONS:
        return _committee_page(request, committee, {}, "Choose what to change.", 400)
    data = request.POST if action else None
    bound: dict[str, forms.Form] = {}
    if action:
        form_class = _FORMS[action]
        bound[action] = form_class(data)
        form = bound[action]
        if not form.is_valid():
            return _committee_page(request, committee, bound, "Correct the form below.", 400)
        try:
            done = _apply(action, request, committee, form.cleaned_data)
        except PortalError as exc:
            return _committee_page(request, committee, bound, exc.message, exc.form_status)
        messages.success(request, done)
        return redirect("access:steward_committee", committee_id=committee.pk)
    return _committee_page(request, committee, bound)


_FORMS: dict[str, type[forms.Form]] = {
    "settings": CommitteeSettingsForm,
    "add": MemberAddForm,
    "chair": MemberForm,
    "remove": MemberForm,
    "publish": AgreementForm,
}


def _member(committee: Committee, user_id: int) -> Any:
    for member, _chair in committee_selectors.committee_people(committee):
        if member.pk == user_id:
            return member
    raise NotFoundError(f"This person is not a member of the {committee.name}.")


def _apply(action: str, request: HttpRequest, committee: Committee, data: dict[str, Any]) -> str:
    """Calls the one service the form asks for; returns the message to show."""
    actor = signed_in_user(request)
    if action == "settings":
        committee_update(actor=actor, committee=committee, **data)
        return "The committee's settings are saved."
    if action == "add":
        committee_member_add(
            actor=actor, committee=committee, user=data["email"], chair=data["chair"]
        )
        return f"{data['email'].email} is now a {'chair' if data['chair'] else 'member'}."
    if action == "chair":
        member = _member(committee, data["user_id"])
        committee_member_add(actor=actor, committee=committee, user=member, chair=True)
        return f"{member.email} is now a chair."
    if action == "remove":
        member = _member(committee, data["user_id"])
        committee_member_remove(actor=actor, committee=committee, user=member)
        return f"{member.email} left the {committee.name}."
    agreement = agreement_publish(actor=actor, committee=committee, text=data["text"])
    return f"Version {agreement.version} of the agreement is published."


def _committee_page(
    request: HttpRequest,
    committee: Committee,
    bound: dict[str, forms.Form],
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    settings_form = bound.get("settings") or CommitteeSettingsForm(
        initial={
            "contact_email": committee.contact_email,
            "quorum": committee.quorum,
            "recuse_same_institution": committee.recuse_same_institution,
            "description": committee.description,
        }
    )
    context = {
        "committee": committee,
        "people": committee_selectors.committee_people(committee),
        "settings_form": settings_form,
        "add_form": bound.get("add") or MemberAddForm(),
        "agreement_form": bound.get("publish") or AgreementForm(),
        "agreements": committee_selectors.agreements_of(committee),
        "has_agreements": not committee.is_community,
        "problem": problem,
    }
    return render(request, "access/steward_committee.html", context, status=status)


@role_required(Role.STEWARD)
@require_GET
def steward_beacon(request: HttpRequest) -> HttpResponse:
    """Beacon query volumes per asker: who asks how much, how often about rare alleles."""
    context = {"volumes": beacon_selectors.query_volumes(days=BEACON_DAYS), "days": BEACON_DAYS}
    return render(request, "access/steward_beacon.html", context)
