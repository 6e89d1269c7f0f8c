"""The steward's consent pages: participants (enrol, import from CSV, link a guardian),
consent documents and versions (draft, preview, publish), and the consent overview."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent import selectors, services
from consent.charts import BarChart, Column, stacked_bars
from consent.forms import (
    ConsentDocumentForm,
    ConsentVersionForm,
    ConsentVersionPublishForm,
    EnrolForm,
    ParticipantImportConfirmForm,
    ParticipantImportForm,
    ProxyLinkForm,
)
from consent.models import ChoiceMeaning, ConsentVersion, VersionStatus
from consent.selectors import MonthWithdrawals
from consent.services import IMPORT_MAX_BYTES, ImportProblem, ParticipantImportError
from consent.version_text import format_choices, format_questions, format_sections
from consent.views.common import posted, render_markdown
from portal.decorators import role_required, signed_in_user
from portal.exceptions import PortalError
from portal.models import Role

# --- participants -----------------------------------------------------------------------------


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def participants(request: HttpRequest) -> HttpResponse:
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.participant_enrol(
                actor=signed_in_user(request), **form.cleaned_data
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{participant.study_id} is enrolled; an invitation was sent to "
                f"{participant.user.email}.",
            )
            return redirect("consent:participants")
    page = Paginator(selectors.participant_list_with_proxies(), 50).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate()
    rows = [
        (p, p.date_of_birth is not None and services.majority_date(p.date_of_birth) > today)
        for p in page.object_list
    ]
    return render(
        request,
        "consent/participants.html",
        {"form": form, "page": page, "rows": rows},
        status=400 if form.errors else 200,
    )


# The checked file travels back signed: the import is of exactly the bytes that were checked,
# by the steward who checked them, within the hour.
_IMPORT_SALT = "consent.participants_import"
_IMPORT_MAX_AGE = 3600


def _sign_import(request: HttpRequest, content: bytes) -> str:
    salt = f"{_IMPORT_SALT}:{signed_in_user(request).pk}"
    return signing.dumps(content.decode("utf-8-sig"), salt=salt, compress=True)


def _unsign_import(request: HttpRequest, token: str) -> bytes | None:
    salt = f"{_IMPORT_SALT}:{signed_in_user(request).pk}"
    try:
        return str(signing.loads(token, salt=salt, max_age=_IMPORT_MAX_AGE)).encode()
    except signing.BadSignature:
        return None


def _import_page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("upload", ParticipantImportForm())
    return render(request, "consent/participants_import.html", context, status=status)


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def participants_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file; the check (a dry run) lists every problem or what would be created;
    confirming imports it, all or nothing."""
    if request.method == "GET":
        return _import_page(request)
    if "content" in request.POST:
        return _import_confirmed(request)
    upload = ParticipantImportForm(request.POST, request.FILES)
    if not upload.is_valid():
        return _import_page(request, 400, upload=upload)
    file = upload.cleaned_data["file"]
    content = file.read(IMPORT_MAX_BYTES + 1)
    check = services.participants_import_check(content=content)
    confirm = (
        ParticipantImportConfirmForm(initial={"content": _sign_import(request, content)})
        if check.ok
        else None
    )
    return _import_page(
        request,
        200 if check.ok else 400,
        check=check,
        problems=check.problems,
        confirm=confirm,
        filename=file.name,
    )


def _import_confirmed(request: HttpRequest) -> HttpResponse:
    content = _unsign_import(request, request.POST.get("content", ""))
    if content is None:
        problem = ImportProblem(
            0, "The checked file has expired or was changed: upload it again and check it."
        )
        return _import_page(request, 400, problems=(problem,))
    try:
        imported = services.participants_import(actor=signed_in_user(request), content=content)
    except ParticipantImportError as exc:
        return _import_page(request, 400, problems=exc.problems, refused=exc.message)
    count = len(imported.participants)
    people = f"{count} participant{'s' if count != 1 else ''}"
    if imported.proxies:
        people += f" with {imported.proxies} guardian{'s' if imported.proxies != 1 else ''}"
    messages.success(request, f"{people} enrolled. Their invitations are being emailed.")
    return redirect("consent:participants")


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def participant_proxy_link(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = selectors.steward_participant(participant_id)
    if participant is None:
        raise Http404("No participant has this id.")
    form = ProxyLinkForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            link = services.proxy_link(
                actor=signed_in_user(request), participant=participant, **form.cleaned_data
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            invited = "" if link.proxy.is_active else " An invitation to their account was emailed."
            messages.success(
                request, f"{link.proxy.email} now acts for {participant.study_id}.{invited}"
            )
            return redirect("consent:participants")
    context = {
        "participant": participant,
        "form": form,
        "proxies": selectors.active_proxies(participant),
    }
    return render(request, "consent/proxy_link.html", context, status=400 if form.errors else 200)


# --- documents and versions -------------------------------------------------------------------


@role_required(Role.STEWARD)
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    context = {"documents": selectors.consent_documents()}
    return render(request, "consent/documents.html", context)


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def document_create(request: HttpRequest) -> HttpResponse:
    form = ConsentDocumentForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            document = services.consent_document_create(
                actor=signed_in_user(request), **form.cleaned_data
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"“{document.name}” was created. Now write its version 1.")
            return redirect("consent:version_create", document_id=document.pk)
    status = 400 if form.errors else 200
    return render(request, "consent/document_create.html", {"form": form}, status=status)


def _prefill(source: ConsentVersion | None, number: int) -> dict[str, Any]:
    if source is None:
        return {"number": number, "language": "en"}
    return {
        "number": number,
        "language": source.language,
        "title": source.title,
        "summary": source.summary,
        "body": source.body,
        "sections": format_sections(source.sections.all()),
        "questions": format_questions(source.questions.all()),
        "choices": format_choices(source.choices.all()),
    }


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def version_create(request: HttpRequest, document_id: int) -> HttpResponse:
    """A draft version, prefilled from the latest version of the document (or `?from=<id>`)."""
    document = selectors.consent_document(document_id)
    if document is None:
        raise Http404("No consent document has this id.")
    source = selectors.version_to_start_from(document, request.GET.get("from"))
    initial = _prefill(source, selectors.next_version_number(document))
    in_force = selectors.versions_in_force(document)
    form = ConsentVersionForm(posted(request), initial=initial, in_force=in_force)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.consent_version_create(
                actor=signed_in_user(request), document=document, **form.service_arguments()
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Draft version {version.number} ({version.language}) is saved. Check the "
                "preview, then publish it.",
            )
            return redirect("consent:version", version_id=version.pk)
    context = {
        "document": document,
        "form": form,
        "source": source,
        "in_force": in_force,
        "meanings": ChoiceMeaning.choices,
    }
    status = 400 if form.errors else 200
    return render(request, "consent/version_create.html", context, status=status)


def _version_page(
    request: HttpRequest, version: ConsentVersion, *, error: str = "", status: int = 200
) -> HttpResponse:
    is_draft = version.status == VersionStatus.DRAFT
    context = {
        "version": version,
        "body": render_markdown(version.body),
        "sections": [(s, render_markdown(s.body)) for s in version.sections.all()],
        "is_draft": is_draft,
        "comparison": selectors.choice_comparison(version) if is_draft else None,
        "publish_form": ConsentVersionPublishForm() if is_draft else None,
        "error": error,
    }
    return render(request, "consent/version.html", context, status=status)


def _version(version_id: int) -> ConsentVersion:
    version = selectors.steward_version(version_id)
    if version is None:
        raise Http404("No consent version has this id.")
    return version


@role_required(Role.STEWARD)
@require_GET
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    """The version as participants will read it, and for a draft, the publishing form."""
    return _version_page(request, _version(version_id))


@role_required(Role.STEWARD)
@require_POST
def version_publish(request: HttpRequest, version_id: int) -> HttpResponse:
    version = _version(version_id)
    form = ConsentVersionPublishForm(request.POST)
    form.is_valid()
    try:
        published = services.consent_version_publish(
            actor=signed_in_user(request),
            version=version,
            suspends_previous=form.cleaned_data.get("suspend_previous", False),
        )
    except PortalError as exc:
        return _version_page(request, version, error=exc.message, status=exc.form_status)
    messages.success(request, _published_message(published))
    return redirect("consent:documents")


def _published_message(version: ConsentVersion) -> str:
    name = f"Version {version.number} ({version.language}) of “{version.document.name}”"
    if not version.requires_reconsent:
        return f"{name} is published. Its choices are unchanged, so answers carry over."
    meanwhile = (
        "their consent is suspended until they do"
        if version.suspends_previous
        else "their consent to the older version stays in force meanwhile"
    )
    return (
        f"{name} is published. Its choices changed: participants who consented to an older "
        f"version are emailed to review it, and {meanwhile}."
    )


# --- the consent overview ---------------------------------------------------------------------

LEVEL_CSS = {"no_contact": "bar-contact", "no_access": "bar-access", "no_use": "bar-use"}


def withdrawals_chart(months: tuple[MonthWithdrawals, ...]) -> BarChart:
    """One stacked bar per month, a segment per withdrawal level; the year under January."""
    columns = [
        Column(
            label=f"{month.month:%b}",
            sublabel=f"{month.month:%Y}" if index == 0 or month.month.month == 1 else "",
            values=tuple((LEVEL_CSS[level], str(level.label), n) for level, n in month.counts),
        )
        for index, month in enumerate(months)
    ]
    return stacked_bars(columns)


@role_required(Role.STEWARD)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    statistics = selectors.consent_statistics()
    legend = [(LEVEL_CSS[level], level.label) for level, _ in statistics.withdrawals[0].counts]
    context = {
        "statistics": statistics,
        "chart": withdrawals_chart(statistics.withdrawals),
        "legend": legend,
    }
    return render(request, "consent/overview.html", context)
