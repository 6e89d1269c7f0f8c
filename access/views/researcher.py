"""Researchers' pages: my requests, the new-request wizard, the request page, invitations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import permissions, services
from access.applications import application_pdf, purpose_in_words
from access.forms import (
    STEP_FORMS,
    DatasetsForm,
    EthicsForm,
    InvitationAnswerForm,
    InviteForm,
    ProjectForm,
    StepForm,
    WithdrawForm,
)
from access.models import AccessRequest, CoApplicant, InvitationStatus, RequestStatus
from access.permissions import RequestRights
from access.purpose import request_match
from access.selectors import applicants
from access.selectors import requests as selectors
from access.selectors.agreements import current_agreements, has_accepted_all
from access.selectors.deliveries import delivery_records, my_deliveries
from access.services.requests import RENEWABLE, needs_ethics
from access.transitions import REQUEST_TRANSITIONS
from consent.duo import Outcome
from datasets.models import Dataset
from datasets.selectors import visible_dataset, visible_datasets
from portal.decorators import role_required
from portal.exceptions import NotFoundError, PermissionError_, PortalError
from portal.models import Role, User, normalize_email

STEPS = (
    ("project", "Project"),
    ("purpose", "Research purpose"),
    ("datasets", "Datasets"),
    ("people", "People"),
    ("documents", "Documents and agreements"),
    ("review", "Review and submit"),
)
STEP_NAMES = [name for name, _ in STEPS]
# Where the applicant fixes each problem submission_problems() names.
FIELD_STEPS = {
    "title": "project",
    "lay_summary": "project",
    "scientific_abstract": "project",
    "primary_use": "purpose",
    "diseases": "purpose",
    "countries": "purpose",
    "institution": "purpose",
    "access_end": "purpose",
    "datasets": "datasets",
    "coapplicants": "people",
    "signing_official_name": "people",
    "signing_official_email": "people",
    "ethics": "documents",
    "security_attestation": "documents",
    "agreements": "documents",
}


def _user(request: HttpRequest) -> User:
    # Every view here requires a signed-in user.
    return cast(User, request.user)


def _problems(exc: PortalError) -> tuple[str, ...]:
    return tuple(getattr(exc, "problems", ()) or (exc.message,))


def _load(request: HttpRequest, accession: str) -> tuple[AccessRequest, RequestRights]:
    try:
        access_request = selectors.request_for(_user(request), accession)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    return access_request, permissions.request_rights(_user(request), access_request)


def _edit_url(access_request: AccessRequest, step: str) -> str:
    url = reverse("access:request_edit", kwargs={"accession": access_request.accession})
    return f"{url}?step={step}"


def _attach(form: StepForm | InviteForm, exc: PortalError) -> list[str]:
    """Field errors beside their fields; the rest for the summary at the top."""
    rest: list[str] = []
    for field, field_messages in getattr(exc, "errors", {}).items():
        for message in field_messages:
            if field in form.fields:
                form.add_error(field, message)
            else:
                rest.append(message)
    return rest if getattr(exc, "errors", None) else [exc.message]


def _not_editable(access_request: AccessRequest, rights: RequestRights) -> PortalError:
    if not rights.act_as_applicant:
        return PermissionError_("Only the applicant can change this request.")
    return PortalError(
        f"This request is {access_request.get_status_display().lower()}: it can be changed "
        "only while it is a draft or returned for changes.",
        http_status=409,
    )


def _can_withdraw(access_request: AccessRequest, rights: RequestRights) -> bool:
    allowed = REQUEST_TRANSITIONS.get(RequestStatus(access_request.status), frozenset())
    return rights.act_as_applicant and RequestStatus.WITHDRAWN in allowed


def _can_accept_agreements(access_request: AccessRequest, user: User) -> bool:
    return (
        access_request.is_editable
        and applicants.is_signatory(access_request, user)
        and bool(current_agreements(access_request))
        and not has_accepted_all(access_request, user)
    )


def _matches(access_request: AccessRequest, datasets: list[Dataset]) -> list[tuple[Dataset, Any]]:
    return [(d, request_match(access_request, d)) for d in datasets]


# --- my requests -------------------------------------------------------------------------------


@role_required(Role.RESEARCHER)
@require_GET
def researcher_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    invitations = [
        (invitation, services.invitation_token(invitation))
        for invitation in applicants.invitations_for(user)
    ]
    context = {
        "requests": selectors.my_requests(user),
        "invitations": invitations,
        "grants": selectors.active_grants(user).order_by("ends_on", "dataset__accession"),
    }
    return render(request, "access/researcher_home.html", context)


# --- the wizard --------------------------------------------------------------------------------


def _dataset_choices(access_request: AccessRequest | None) -> list[Dataset]:
    """Released datasets, and any the request already names (so none vanishes unseen)."""
    offered = {d.pk: d for d in visible_datasets(None)}
    if access_request is not None:
        for dataset in applicants.datasets_of(access_request):
            offered.setdefault(dataset.pk, dataset)
    return sorted(offered.values(), key=lambda d: d.accession or "")


def _step_form(step: str, access_request: AccessRequest, data: Any = None) -> StepForm | None:
    form_class = STEP_FORMS.get(step)
    if form_class is None:
        return None
    kwargs: dict[str, Any] = {"access_request": access_request}
    if form_class is DatasetsForm:
        kwargs["choices"] = _dataset_choices(access_request)
    return form_class(data, **kwargs) if data is not None else form_class(**kwargs)


def _step(request: HttpRequest) -> str:
    step = request.GET.get("step") or STEP_NAMES[0]
    if step not in STEP_NAMES:
        raise Http404("The request form has no such step.")
    return step


def _review_context(access_request: AccessRequest) -> dict[str, Any]:
    problems = services.submission_problems(access_request)
    matches = _matches(access_request, applicants.datasets_of(access_request))
    return {
        "submission_problems": [
            (FIELD_STEPS.get(field, "review"), message)
            for field, field_messages in problems.items()
            for message in field_messages
        ],
        "matches": matches,
        "denied": [d.accession for d, m in matches if m is not None and m.outcome == Outcome.DENY],
    }


def _wizard(
    request: HttpRequest,
    access_request: AccessRequest,
    step: str,
    *,
    form: StepForm | None = None,
    problems: Sequence[str] = (),
    status: int = 200,
    submit_refused: bool = False,
    invite_form: InviteForm | None = None,
    ethics_form: EthicsForm | None = None,
) -> HttpResponse:
    user = _user(request)
    index = STEP_NAMES.index(step)
    context: dict[str, Any] = {
        "access_request": access_request,
        "steps": [(name, label, _edit_url(access_request, name)) for name, label in STEPS],
        "step": step,
        "step_label": dict(STEPS)[step],
        "next_step": STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None,
        "previous_url": _edit_url(access_request, STEP_NAMES[index - 1]) if index else None,
        "form": form or _step_form(step, access_request),
        "problems": problems,
        "action": _edit_url(access_request, step),
    }
    if step == "people":
        context["invite_form"] = invite_form or InviteForm()
        context["coapplicants"] = [
            (c, c.status in {InvitationStatus.PENDING, InvitationStatus.ACCEPTED})
            for c in selectors.coapplicants_of(access_request)
        ]
    elif step == "documents":
        datasets = applicants.datasets_of(access_request)
        context.update(
            ethics_form=ethics_form or EthicsForm(),
            ethics=selectors.ethics_of(access_request),
            needs_ethics=needs_ethics(datasets),
            irb_datasets=[d.accession for d in datasets if "IRB" in d.modifiers],
            agreements=applicants.agreement_rows(access_request),
            can_accept_agreements=_can_accept_agreements(access_request, user),
        )
    elif step == "review":
        context.update(_review_context(access_request), submit_refused=submit_refused)
    return render(request, "access/request_edit.html", context, status=status)


@role_required(Role.RESEARCHER)
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    """The wizard's first step; saving it creates the draft (with any preselected dataset)."""
    problems: list[str] = []
    if request.method == "POST":
        form = ProjectForm(request.POST)
        wanted = set(request.POST.getlist("dataset"))
        chosen = [d for d in _dataset_choices(None) if str(d.pk) in wanted]
        if form.is_valid():
            try:
                created = services.access_request_create(
                    actor=_user(request), dataset_ids=sorted(wanted), **form.service_arguments()
                )
            except PortalError as exc:
                problems = _attach(form, exc)
            else:
                messages.success(request, f"Your draft {created.accession} is saved.")
                then = request.POST.get("then")
                return redirect(_edit_url(created, then if then in STEP_NAMES else "purpose"))
    else:
        form = ProjectForm()
        chosen = []
        for accession in request.GET.getlist("dataset"):
            dataset = visible_dataset(None, accession)
            if dataset is None:
                problems.append(f"No released dataset has the accession “{accession}”.")
            else:
                chosen.append(dataset)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "chosen": chosen,
        "problems": problems,
        "steps": [(name, label, None) for name, label in STEPS],
        "step": STEP_NAMES[0],
        "next_step": STEP_NAMES[1],
    }
    return render(request, "access/request_new.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    step = _step(request)
    if not rights.edit:
        refusal = _not_editable(access_request, rights)
        return _detail(request, access_request, rights, refusal.message, refusal.http_status)
    if request.method == "GET":
        return _wizard(request, access_request, step)
    form = _step_form(step, access_request, request.POST)
    if form is None:
        return HttpResponseNotAllowed(["GET"])
    problems: list[str] = []
    status = 400
    if form.is_valid():
        try:
            services.access_request_update(
                actor=_user(request), request=access_request, **form.service_arguments()
            )
        except PortalError as exc:
            problems, status = _attach(form, exc), exc.form_status
        else:
            messages.success(request, "Your draft is saved.")
            then = request.POST.get("then")
            return redirect(_edit_url(access_request, then if then in STEP_NAMES else step))
    return _wizard(request, access_request, step, form=form, problems=problems, status=status)


# --- the request page ----------------------------------------------------------------------------


def _detail(
    request: HttpRequest,
    access_request: AccessRequest,
    rights: RequestRights,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    datasets = applicants.datasets_of(access_request)
    grants = selectors.grants_of(access_request)
    context = {
        "access_request": access_request,
        "purpose": purpose_in_words(access_request),
        "matches": _matches(access_request, datasets),
        "events": selectors.timeline(access_request, rights),
        "coapplicants": selectors.coapplicants_of(access_request),
        "agreements": applicants.agreement_rows(access_request),
        "ethics": selectors.ethics_of(access_request)
        if permissions.can_view_ethics(user, access_request)
        else [],
        "grants": grants,
        "link_grants": {g.pk for g in grants if g.grantee_id == user.pk and g.is_active},
        "deliveries": delivery_records(my_deliveries(user, access_request)),
        "decisions": applicants.decisions_of(access_request, rights),
        "renewals": applicants.renewals_of(access_request),
        "can_edit": rights.edit,
        "can_withdraw": _can_withdraw(access_request, rights),
        "can_renew": rights.act_as_applicant and access_request.status in RENEWABLE,
        "can_review": rights.reviewer,
        "can_accept_agreements": _can_accept_agreements(access_request, user),
        "back": _back_link(user, rights),
        "error": error,
    }
    return render(request, "access/request_detail.html", context, status=status)


def _back_link(user: User, rights: RequestRights) -> tuple[str, str] | None:
    """Where this person came from: their own list, the committee queue or all requests."""
    if user.has_role(Role.RESEARCHER) and (rights.act_as_applicant or not rights.view_internal):
        return reverse("access:researcher_home"), "Back to my requests"
    if rights.reviewer:
        return reverse("access:dac_home"), "Back to the committee queue"
    if rights.steward:
        return reverse("access:steward_requests"), "Back to all requests"
    return None


@login_required
@require_GET
def request_detail(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    return _detail(request, access_request, rights)


def _refused(
    request: HttpRequest,
    access_request: AccessRequest,
    rights: RequestRights,
    step: str,
    exc: PortalError,
    **forms: Any,
) -> HttpResponse:
    """A refused action: on the wizard step it came from, or on the request page for people
    who cannot edit (co-applicants, or after the request moved on)."""
    if rights.edit and exc.http_status in {400, 409, 413, 415}:
        return _wizard(
            request,
            access_request,
            step,
            problems=_problems(exc),
            status=exc.form_status,
            **forms,
        )
    return _detail(request, access_request, rights, exc.message, exc.http_status)


@login_required
@require_POST
def request_submit(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    try:
        services.access_request_submit(actor=_user(request), request=access_request)
    except services.AccessProblems as exc:
        if not rights.edit:
            return _detail(request, access_request, rights, exc.message, exc.form_status)
        return _wizard(
            request, access_request, "review", status=exc.form_status, submit_refused=True
        )
    except PortalError as exc:
        return _detail(request, access_request, rights, exc.message, exc.http_status)
    messages.success(
        request, f"{access_request.accession} is submitted. The committees will review it."
    )
    return redirect("access:request", accession=access_request.accession)


@login_required
@require_http_methods(["GET", "POST"])
def request_withdraw(request: HttpRequest, accession: str) -> HttpResponse:
    """A confirmation page, then the withdrawal."""
    access_request, rights = _load(request, accession)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        if not _can_withdraw(access_request, rights):
            refusal = (
                PermissionError_("Only the applicant can withdraw this request.")
                if not rights.act_as_applicant
                else PortalError(
                    f"This request is {access_request.get_status_display().lower()}: it can no "
                    "longer be withdrawn.",
                    http_status=409,
                )
            )
            return _detail(request, access_request, rights, refusal.message, refusal.http_status)
    elif form.is_valid():
        try:
            services.access_request_withdraw(
                actor=_user(request),
                request=access_request,
                comment=form.cleaned_data["comment"],
            )
        except PortalError as exc:
            return _detail(request, access_request, rights, exc.message, exc.http_status)
        messages.success(request, f"{access_request.accession} is withdrawn.")
        return redirect("access:request", accession=access_request.accession)
    status = 400 if form.errors else 200
    context = {"access_request": access_request, "form": form}
    return render(request, "access/request_withdraw.html", context, status=status)


@login_required
@require_POST
def request_renew(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    try:
        renewal = services.access_request_renew(actor=_user(request), request=access_request)
    except PortalError as exc:
        return _detail(request, access_request, rights, exc.message, exc.http_status)
    messages.success(
        request,
        f"{renewal.accession} renews {access_request.accession}, pre-filled from it. Check "
        "every step, confirm the data-security attestation, then submit.",
    )
    return redirect(_edit_url(renewal, STEP_NAMES[0]))


# --- co-applicants, agreements, ethics ---------------------------------------------------------


@login_required
@require_POST
def coapplicant_invite(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    form = InviteForm(request.POST)
    if not form.is_valid():
        if not rights.edit:
            return _refused(
                request, access_request, rights, "people", _not_editable(access_request, rights)
            )
        return _wizard(request, access_request, "people", status=400, invite_form=form)
    try:
        invitation = services.coapplicant_invite(
            actor=_user(request),
            request=access_request,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
        )
    except PortalError as exc:
        return _refused(request, access_request, rights, "people", exc, invite_form=form)
    messages.success(
        request, f"We emailed an invitation to {invitation.email}. They must accept it."
    )
    return redirect(_edit_url(access_request, "people"))


@login_required
@require_POST
def coapplicant_cancel(request: HttpRequest, accession: str, invitation_id: int) -> HttpResponse:
    access_request, rights = _load(request, accession)
    invitation: CoApplicant | None = next(
        (c for c in selectors.coapplicants_of(access_request) if c.pk == invitation_id), None
    )
    if invitation is None:
        raise Http404("No such invitation on this request.")
    try:
        services.coapplicant_cancel(actor=_user(request), invitation=invitation)
    except PortalError as exc:
        return _refused(request, access_request, rights, "people", exc)
    messages.success(request, f"{invitation.email} is no longer a co-applicant.")
    return redirect(_edit_url(access_request, "people"))


@login_required
@require_POST
def agreements_accept(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    try:
        services.agreements_accept(actor=_user(request), request=access_request)
    except PortalError as exc:
        return _refused(request, access_request, rights, "documents", exc)
    messages.success(request, "You accepted the data-access agreements of this request.")
    if rights.edit:
        return redirect(_edit_url(access_request, "documents"))
    return redirect("access:request", accession=access_request.accession)


@login_required
@require_POST
def ethics_upload(request: HttpRequest, accession: str) -> HttpResponse:
    access_request, rights = _load(request, accession)
    form = EthicsForm(request.POST, request.FILES)
    if not form.is_valid():
        if not rights.edit:
            return _refused(
                request, access_request, rights, "documents", _not_editable(access_request, rights)
            )
        return _wizard(request, access_request, "documents", status=400, ethics_form=form)
    upload = form.cleaned_data["document"]
    # One byte past the limit is enough for the service to refuse an oversized file.
    content = upload.read(settings.CUSTODIAN_ETHICS_MAX_BYTES + 1)
    try:
        document = services.ethics_upload(
            actor=_user(request), request=access_request, name=upload.name, content=content
        )
    except PortalError as exc:
        return _refused(request, access_request, rights, "documents", exc, ethics_form=form)
    messages.success(request, f"The ethics approval {document.original_name} is uploaded.")
    return redirect(_edit_url(access_request, "documents"))


@login_required
@require_GET
def ethics_download(request: HttpRequest, accession: str, document_id: int) -> FileResponse:
    access_request, _ = _load(request, accession)
    if not permissions.can_view_ethics(_user(request), access_request):
        raise Http404("No such document.")
    try:
        document = selectors.ethics_document(access_request, document_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    root = settings.CUSTODIAN_PRIVATE_ROOT.resolve()
    path = (root / document.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("The document's file is missing.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type="application/pdf",
    )


# --- the co-applicant's invitation ---------------------------------------------------------------


def _invitation_refusal(invitation: CoApplicant, user: User) -> PortalError | None:
    """Why this person cannot answer, shown before the request's details are.

    The service checks the same again when they answer; this spares them a form they
    cannot use and keeps the request's content from a wrong account.
    """
    if normalize_email(user.email) != invitation.email:
        return PermissionError_(
            f"This invitation was sent to {invitation.email}. Sign in with that address."
        )
    if invitation.status != InvitationStatus.PENDING:
        return PortalError(
            f"This invitation was already answered or withdrawn "
            f"({invitation.get_status_display().lower()}).",
            http_status=409,
        )
    if invitation.is_expired:
        return PortalError(
            "This invitation has expired. Ask the applicant to invite you again.",
            http_status=409,
        )
    return None


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    user = _user(request)
    try:
        invited = services.invitation_from_token(token)
    except PortalError as exc:
        return render(
            request, "access/invitation.html", {"error": exc.message}, status=exc.http_status
        )
    refusal = _invitation_refusal(invited, user)
    if refusal is not None:
        return render(
            request,
            "access/invitation.html",
            {"error": refusal.message},
            status=refusal.http_status,
        )
    form = InvitationAnswerForm(request.POST if request.method == "POST" else None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        accept = request.POST.get("answer") == "accept"
        try:
            services.coapplicant_answer(
                actor=user,
                invitation=invited,
                accept=accept,
                accept_agreements=form.cleaned_data["accept_agreements"],
            )
        except PortalError as exc:
            if exc.code == "agreement":
                form.add_error("accept_agreements", exc.message)
            else:
                error = exc.message
            status = exc.form_status if exc.http_status in {400, 409} else exc.http_status
        else:
            accession = invited.request.accession
            if accept:
                messages.success(request, f"You joined {accession} as a co-applicant.")
                return redirect("access:request", accession=accession)
            messages.success(request, f"You declined the invitation to {accession}.")
            return redirect("portal:home")
    context = {
        "invitation": invited,
        "access_request": invited.request,
        "agreements": current_agreements(invited.request),
        "form": form,
        "error": error,
    }
    return render(request, "access/invitation.html", context, status=status)


# --- the PDF -------------------------------------------------------------------------------------


@login_required
@require_GET
def request_pdf(request: HttpRequest, accession: str) -> HttpResponse:
    """The application with its purpose, match, decisions and acceptances, as REMS offers."""
    access_request, rights = _load(request, accession)
    datasets = applicants.datasets_of(access_request)
    context = {
        "access_request": access_request,
        "purpose": purpose_in_words(access_request),
        "matches": _matches(access_request, datasets),
        "coapplicants": selectors.coapplicants_of(access_request),
        "acceptances": selectors.acceptances_of(access_request),
        "decisions": applicants.decisions_of(access_request, rights),
        "grants": selectors.grants_of(access_request),
    }
    response = HttpResponse(application_pdf(context), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{access_request.accession}.pdf"'
    return response
