"""Committee pages: the queue, the review page, votes, decisions, revocation; community use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from access import permissions
from access.applications import purpose_in_words
from access.committee_forms import (
    DecisionForm,
    QueueFilterForm,
    RevokeForm,
    VoteForm,
    page_number,
)
from access.forms import DeliveryRevokeForm
from access.models import AccessRequest, RequestStatus
from access.selectors import applicants, lookups
from access.selectors import committees as committee_selectors
from access.selectors import requests as selectors
from access.selectors.deliveries import DeliveryRecord, delivery_records_of_request
from access.services import grants_revoke, review_decide, vote_cast
from access.services.reviews import default_grant_end
from datasets.selectors import committees_of
from portal.decorators import signed_in_user
from portal.exceptions import NotFoundError, PortalError
from portal.models import Role

View = Callable[..., HttpResponse]


def committee_member_required(view: View) -> View:
    """Signed in and sitting on a committee (or holding a DAC role, to see "no committee yet"):
    membership, not a global role, makes someone a reviewer."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in_user(request)
        if not (
            user.has_role(Role.DAC_MEMBER, Role.DAC_CHAIR)
            or committee_selectors.sits_on_a_committee(user)
        ):
            raise PermissionDenied(_("This page is for committee members."))
        return view(request, *args, **kwargs)

    return wrapper


def _visible(user: Any, accession: str) -> AccessRequest:
    try:
        return selectors.request_for(user, accession)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


# --- the queue --------------------------------------------------------------------------------


@committee_member_required
@require_GET
def dac_home(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    datasets = list(selectors.datasets_reviewed_by(user))
    form = QueueFilterForm(request.GET or None, datasets=datasets)
    filters = form.filters()
    queue = selectors.committee_queue(user, **filters, page=page_number(request.GET.get("page")))
    counts = [
        (value, label, queue.counts.get(value, 0))
        for value, label in RequestStatus.choices
        if value != RequestStatus.DRAFT
    ]
    committees = list(committees_of(user))
    context = {
        "committees": committees,
        "communities": [c for c in committees if c.is_community],
        "form": form,
        "queue": queue,
        "counts": counts,
        "filtered": any(filters[k] for k in ("state", "dataset", "waiting_for_me")),
        "is_chair": any(chair.pk == user.pk for c in committees for chair in c.chairs.all()),
    }
    return render(request, "access/dac_home.html", context)


# --- the review page --------------------------------------------------------------------------


@dataclass
class PanelView:
    """A review panel with the forms this person may use on it."""

    panel: selectors.ReviewPanel
    show_votes: bool
    vote_form: VoteForm | None
    decide_form: DecisionForm | None
    revoke_form: RevokeForm | None
    recused: list[tuple[Any, str]]
    problem: str = ""


def _decide_form(panel: selectors.ReviewPanel, data: Any = None) -> DecisionForm:
    community = panel.review.committee.is_community
    end = (
        None
        if community
        else default_grant_end([d.dataset for d in panel.datasets], timezone.localdate())
    )
    return DecisionForm(data, community=community, grant_end=end, prefix=f"r{panel.review.pk}")


def _panel_view(
    panel: selectors.ReviewPanel, show_votes: bool, failed: tuple[int, str, forms.Form, str] | None
) -> PanelView:
    review_id = panel.review.pk
    mine = failed if failed and failed[0] == review_id else None
    initial = (
        {"choice": panel.my_vote.choice, "rationale": panel.my_vote.rationale}
        if panel.my_vote
        else None
    )
    vote_form = decide_form = revoke_form = None
    if panel.can_vote:
        vote_form = VoteForm(initial=initial, prefix=f"r{review_id}")
    if panel.can_decide:
        decide_form = _decide_form(panel)
    if panel.can_revoke:
        revoke_form = RevokeForm(prefix=f"c{panel.review.committee_id}")
    if mine:
        kind, form = mine[1], mine[2]
        vote_form = form if kind == "vote" else vote_form  # type: ignore[assignment]
        decide_form = form if kind == "decide" else decide_form  # type: ignore[assignment]
        revoke_form = form if kind == "revoke" else revoke_form  # type: ignore[assignment]
    # "You are the applicant." read about someone else: "the applicant".
    recused = [
        (m, panel.recused_members[m.pk].removeprefix("You are ").rstrip("."))
        for m in panel.review.committee.members.all()
        if m.pk in panel.recused_members
    ]
    problem = mine[3] if mine else ""
    return PanelView(panel, show_votes, vote_form, decide_form, revoke_form, recused, problem)


def _review_page(
    request: HttpRequest,
    access_request: AccessRequest,
    failed: tuple[int, str, forms.Form, str] | None = None,
    status: int = 200,
    rights: permissions.RequestRights | None = None,
) -> HttpResponse:
    user = signed_in_user(request)
    rights = rights or permissions.request_rights(user, access_request)
    panels = selectors.review_panels(access_request, user)
    context = {
        "access_request": access_request,
        "rights": rights,
        "purpose": purpose_in_words(access_request),
        "datasets": applicants.datasets_of(access_request),
        "coapplicants": selectors.coapplicants_of(access_request),
        "ethics": selectors.ethics_of(access_request),
        "acceptances": selectors.acceptances_of(access_request),
        "grants": selectors.grants_of(access_request),
        "deliveries": _deliveries(access_request, rights),
        "events": selectors.timeline(access_request, rights),
        "panels": [
            _panel_view(p, rights.sees_internal_of(p.review.committee_id), failed) for p in panels
        ],
        "page_problem": failed[3] if failed and failed[0] == 0 else "",
    }
    return render(request, "access/review.html", context, status=status)


def _deliveries(
    access_request: AccessRequest, rights: permissions.RequestRights
) -> list[tuple[DeliveryRecord, DeliveryRevokeForm | None]]:
    """Each delivery's record, with a revoke form where this person may stop its links."""
    return [
        (
            record,
            DeliveryRevokeForm(auto_id=f"id_delivery{record.delivery.pk}_%s")
            if rights.revokes_deliveries and record.revocable
            else None,
        )
        for record in delivery_records_of_request(access_request)
    ]


@login_required
@require_GET
def review(request: HttpRequest, accession: str) -> HttpResponse:
    access_request = _visible(signed_in_user(request), accession)
    rights = permissions.request_rights(signed_in_user(request), access_request)
    if not (rights.reviewer or rights.steward):
        # The applicants follow their request on its own page; this one is the committees'.
        raise Http404("No such review.")
    return _review_page(request, access_request, rights=rights)


def _review(access_request: AccessRequest, review_id: int) -> Any:
    try:
        return lookups.review_of(access_request, review_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _refused(exc: PortalError) -> None:
    if exc.http_status == 404:
        raise Http404(exc.message) from exc


@login_required
@require_POST
def vote(request: HttpRequest, accession: str, review_id: int) -> HttpResponse:
    access_request = _visible(signed_in_user(request), accession)
    committee_review = _review(access_request, review_id)
    form = VoteForm(request.POST, prefix=f"r{review_id}")
    if not form.is_valid():
        problem = "Choose approve or reject and give your rationale."
        return _review_page(request, access_request, (review_id, "vote", form, problem), 400)
    try:
        vote_cast(actor=signed_in_user(request), review=committee_review, **form.cleaned_data)
    except PortalError as exc:
        _refused(exc)
        failed = (review_id, "vote", form, exc.message)
        return _review_page(request, access_request, failed, exc.http_status)
    messages.success(request, f"Your vote on {accession} is recorded; you can change it.")
    return redirect("access:review", accession=accession)


@login_required
@require_POST
def decide(request: HttpRequest, accession: str, review_id: int) -> HttpResponse:
    access_request = _visible(signed_in_user(request), accession)
    committee_review = _review(access_request, review_id)
    form = DecisionForm(
        request.POST,
        community=committee_review.committee.is_community,
        grant_end=None,
        prefix=f"r{review_id}",
    )
    if not form.is_valid():
        problem = "Correct the decision form."
        return _review_page(request, access_request, (review_id, "decide", form, problem), 400)
    try:
        decided = review_decide(
            actor=signed_in_user(request), review=committee_review, **form.service_arguments()
        )
    except PortalError as exc:
        _refused(exc)
        failed = (review_id, "decide", form, exc.message)
        return _review_page(request, access_request, failed, exc.http_status)
    messages.success(
        request,
        f"The {decided.committee.name}'s decision is recorded: "
        f"{decided.get_decision_display().lower()}.",
    )
    return redirect("access:review", accession=accession)


@login_required
@require_POST
def revoke(request: HttpRequest, accession: str, committee_id: int) -> HttpResponse:
    access_request = _visible(signed_in_user(request), accession)
    try:
        committee = committee_selectors.reviewing_committee(access_request, committee_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    form = RevokeForm(request.POST, prefix=f"c{committee_id}")
    panel_id = committee_review_id(access_request, committee_id)
    if not form.is_valid():
        problem = "Give the reason for revoking access; the researchers will see it."
        return _review_page(request, access_request, (panel_id, "revoke", form, problem), 400)
    try:
        count = grants_revoke(
            actor=signed_in_user(request),
            request=access_request,
            committee=committee,
            reason=form.cleaned_data["reason"],
        )
    except PortalError as exc:
        _refused(exc)
        failed = (panel_id, "revoke", form, exc.message)
        return _review_page(request, access_request, failed, exc.http_status)
    messages.success(request, f"{count} grant(s) revoked.")
    return redirect("access:review", accession=accession)


def committee_review_id(access_request: AccessRequest, committee_id: int) -> int:
    """The panel a revocation error is shown on: the committee's latest review."""
    latest = committee_selectors.latest_review(access_request, committee_id)
    return latest.pk if latest else 0


# --- community use ----------------------------------------------------------------------------


@login_required
@require_GET
def community_use(request: HttpRequest, committee_id: int) -> HttpResponse:
    try:
        committee = committee_selectors.community_for(signed_in_user(request), committee_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    page = Paginator(selectors.community_uses(committee), selectors.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    decisions = committee_selectors.community_decisions(committee, list(page.object_list))
    rows = [(r, decisions.get(r.pk)) for r in page.object_list]
    context = {"committee": committee, "page": page, "rows": rows}
    return render(request, "access/community_use.html", context)
