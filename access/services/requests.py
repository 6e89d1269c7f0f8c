"""The applicant's writes: drafts, ethics approval, submission, withdrawal, renewal."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access import permissions
from access.models import (
    AccessRequest,
    CoApplicant,
    CommitteeReview,
    EthicsDocument,
    EventKind,
    InvitationStatus,
    PrimaryUse,
    RequestedDataset,
    RequestStatus,
    ReviewDecision,
    SensitiveArea,
    request_accession_for,
)
from access.notifications import notify
from access.purpose import research_purposes
from access.selectors.agreements import missing_acceptances
from access.services.base import (
    AccessActions,
    AccessError,
    AccessProblems,
    event,
    locked,
    move,
    require_applicant,
    require_editable,
)
from access.services.questions import request_questions_withdraw
from access.tasks import start_review_task
from consent.duo import InvalidPurposeError, UnknownDiseaseError, get_ontology
from datasets.models import Committee, Dataset, DatasetStatus, Sample
from portal.audit import audit_log
from portal.exceptions import PermissionError_
from portal.models import Role, User

TEXT_FIELDS = (
    "title",
    "lay_summary",
    "scientific_abstract",
    "institution",
    "signing_official_name",
    "signing_official_email",
)
FLAG_FIELDS = ("methods_development", "commercial", "for_profit_organisation")
EDITABLE_FIELDS = (
    *TEXT_FIELDS,
    *FLAG_FIELDS,
    "primary_use",
    "diseases",
    "countries",
    "sensitive_areas",
    "access_end",
    "security_attestation",
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
PDF_MAGIC = b"%PDF-"


def _clean_list(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return sorted({str(item).strip() for item in items if str(item).strip()})


def _checked_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Normalise what the applicant typed; every format error at once (drafts may be partial)."""
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise AccessError(f"Unknown fields: {', '.join(unknown)}.", code="invalid")
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        if name in TEXT_FIELDS:
            clean[name] = (value or "").strip()
        elif name in (*FLAG_FIELDS, "security_attestation"):
            clean[name] = bool(value)
        else:
            clean[name] = value
    if "signing_official_email" in clean and clean["signing_official_email"]:
        try:
            validate_email(clean["signing_official_email"])
        except ValidationError:
            errors["signing_official_email"] = [
                f"“{clean['signing_official_email']}” is not an email address."
            ]
    if "primary_use" in clean:
        clean["primary_use"] = (clean["primary_use"] or "").strip().upper()
        if clean["primary_use"] and clean["primary_use"] not in PrimaryUse.values:
            errors["primary_use"] = [
                f"“{clean['primary_use']}” is not a primary use: choose GRU, HMB, DS or POA."
            ]
    if "diseases" in clean:
        clean["diseases"] = _clean_list(clean["diseases"])
        ontology = get_ontology()
        unknown_diseases = [d for d in clean["diseases"] if not _known(ontology, d)]
        if unknown_diseases:
            errors["diseases"] = [f"Unknown disease terms: {', '.join(unknown_diseases)}."]
    if "countries" in clean:
        clean["countries"] = [c.upper() for c in _clean_list(clean["countries"])]
        bad = [c for c in clean["countries"] if not _COUNTRY.match(c)]
        if bad:
            errors["countries"] = [
                f"Countries are two-letter ISO codes (GB, FR…), not: {', '.join(bad)}."
            ]
    if "sensitive_areas" in clean:
        clean["sensitive_areas"] = _clean_list(clean["sensitive_areas"])
        bad = [a for a in clean["sensitive_areas"] if a not in SensitiveArea.values]
        if bad:
            errors["sensitive_areas"] = [f"Unknown sensitive areas: {', '.join(bad)}."]
    if clean.get("access_end") is not None:
        end = clean["access_end"]
        if isinstance(end, str):
            try:
                end = dt.date.fromisoformat(end) if end.strip() else None
            except ValueError:
                errors["access_end"] = [f"“{end}” is not a date (YYYY-MM-DD)."]
                end = None
        if end is not None and end <= timezone.localdate():
            errors["access_end"] = ["The end of access must be in the future."]
        clean["access_end"] = end
    return clean, errors


def _known(ontology: Any, disease_id: str) -> bool:
    try:
        ontology.term(disease_id)
    except UnknownDiseaseError:
        return False
    return True


def _checked_datasets(dataset_ids: Iterable[object]) -> tuple[list[Dataset], list[str]]:
    wanted: list[int] = []
    errors: list[str] = []
    for raw in dataset_ids:
        try:
            wanted.append(int(str(raw)))
        except ValueError:
            errors.append(f"“{raw}” is not a dataset id.")
    found = {d.pk: d for d in Dataset.objects.filter(pk__in=wanted)}
    for pk in sorted(set(wanted) - set(found)):
        errors.append(f"No dataset has the id {pk}.")
    closed = [str(d.accession) for d in found.values() if d.status != DatasetStatus.RELEASED]
    if closed:
        errors.append(f"These datasets are not open for requests: {', '.join(sorted(closed))}.")
    return sorted(found.values(), key=lambda d: d.pk), errors


def _set_datasets(request: AccessRequest, datasets: list[Dataset]) -> None:
    RequestedDataset.objects.filter(request=request).exclude(dataset__in=datasets).delete()
    have = set(
        RequestedDataset.objects.filter(request=request).values_list("dataset_id", flat=True)
    )
    RequestedDataset.objects.bulk_create(
        [RequestedDataset(request=request, dataset=d) for d in datasets if d.pk not in have]
    )


def access_request_create(
    *, actor: User, dataset_ids: Iterable[object] = (), **fields: Any
) -> AccessRequest:
    """A new draft owned by the researcher; it may be incomplete (drafts save any time)."""
    if not actor.has_role(Role.RESEARCHER):
        raise PermissionError_("Only researchers apply for access.")
    clean, errors = _checked_fields(fields)
    datasets, dataset_errors = _checked_datasets(dataset_ids)
    if dataset_errors:
        errors["datasets"] = dataset_errors
    if errors:
        raise AccessProblems(errors)
    clean.setdefault("institution", actor.institution)
    with transaction.atomic(durable=True):
        request = AccessRequest.objects.create(applicant=actor, **clean)
        request.accession = request_accession_for(request.pk)
        request.save(update_fields=["accession"])
        _set_datasets(request, datasets)
        permissions.grant_applicant(actor, request)
        event(request, EventKind.CREATED, actor=actor)
        audit_log(
            actor=actor,
            action=AccessActions.CREATE,
            target=request,
            after={"accession": request.accession, "datasets": [d.pk for d in datasets]},
        )
    return request


def access_request_update(
    *,
    actor: User,
    request: AccessRequest,
    dataset_ids: Iterable[object] | None = None,
    **fields: Any,
) -> AccessRequest:
    """Save the applicant's changes to a draft or a returned request."""
    clean, errors = _checked_fields(fields)
    datasets: list[Dataset] | None = None
    if dataset_ids is not None:
        datasets, dataset_errors = _checked_datasets(dataset_ids)
        if dataset_errors:
            errors["datasets"] = dataset_errors
    with transaction.atomic(durable=True):
        request = locked(request)
        require_applicant(actor, request, "change this request")
        require_editable(request)
        if errors:
            raise AccessProblems(errors)
        for name, value in clean.items():
            setattr(request, name, value)
        request.updated_at = timezone.now()
        request.save(update_fields=[*clean, "updated_at"])
        if datasets is not None:
            _set_datasets(request, datasets)
        audit_log(
            actor=actor,
            action=AccessActions.UPDATE,
            target=request,
            after={
                **{
                    k: v
                    for k, v in clean.items()
                    if k not in ("lay_summary", "scientific_abstract")
                },
                **({"datasets": [d.pk for d in datasets]} if datasets is not None else {}),
            },
        )
    return request


def ethics_upload(
    *, actor: User, request: AccessRequest, name: str, content: bytes
) -> EthicsDocument:
    """Store an ethics approval PDF outside the web root (checked by content, not name)."""
    if len(content) > settings.CUSTODIAN_ETHICS_MAX_BYTES:
        limit = settings.CUSTODIAN_ETHICS_MAX_BYTES // (1024 * 1024)
        raise AccessError(f"The ethics approval is larger than {limit} MB.", code="too_large")
    if not content.startswith(PDF_MAGIC) or b"%%EOF" not in content[-2048:]:
        raise AccessError(
            "The ethics approval must be a PDF document (this file is not one, or is cut short).",
            code="not_pdf",
            http_status=415,
        )
    relative = f"ethics/{uuid.uuid4().hex}.pdf"
    target = settings.CUSTODIAN_PRIVATE_ROOT / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(content)
    os.replace(partial, target)
    try:
        with transaction.atomic(durable=True):
            request = locked(request)
            require_applicant(actor, request, "upload the ethics approval")
            require_editable(request)
            document = EthicsDocument.objects.create(
                request=request,
                path=relative,
                original_name=os.path.basename(name)[:255] or "ethics.pdf",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                uploaded_by=actor,
            )
            event(request, EventKind.ETHICS_UPLOADED, actor=actor, comment=document.original_name)
            audit_log(
                actor=actor,
                action=AccessActions.ETHICS_UPLOAD,
                target=request,
                after={"sha256": document.sha256, "size": document.size},
            )
    except BaseException:
        target.unlink(missing_ok=True)  # nothing half-written: no file without its record
        raise
    return document


def needs_ethics(datasets: Iterable[Dataset]) -> bool:
    return any("IRB" in d.modifiers for d in datasets)


def submission_problems(request: AccessRequest) -> dict[str, list[str]]:
    """Everything that keeps the request from being submitted, by field, all at once."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    labels = {
        "title": "a project title",
        "lay_summary": "a lay summary",
        "scientific_abstract": "a scientific abstract",
        "institution": "the applicant's institution",
        "signing_official_name": "the signing official's name",
        "signing_official_email": "the signing official's email",
    }
    for field, label in labels.items():
        if not getattr(request, field).strip():
            add(field, f"Give {label}.")
    if not request.primary_use:
        add("primary_use", "Choose the primary use of the data.")
    elif request.primary_use == PrimaryUse.DS and not request.diseases:
        add("diseases", "Disease-specific research needs at least one disease.")
    elif request.primary_use != PrimaryUse.DS and request.diseases:
        add("diseases", "Diseases apply only to disease-specific research: remove them.")
    if not request.countries:
        add("countries", "Name the countries where the data will be used.")
    if request.access_end is not None and request.access_end <= timezone.localdate():
        add("access_end", "The end of access must be in the future.")
    if not request.security_attestation:
        add("security_attestation", "Confirm the data-security attestation.")
    datasets = list(request.datasets.all())
    if not datasets:
        add("datasets", "Choose at least one dataset.")
    closed = [str(d.accession) for d in datasets if d.status != DatasetStatus.RELEASED]
    if closed:
        add("datasets", f"These datasets are no longer open for requests: {', '.join(closed)}.")
    if needs_ethics(datasets) and not request.ethics.exists():
        add("ethics", "A dataset requires ethics approval (IRB): upload the approval as a PDF.")
    if "primary_use" not in errors and "diseases" not in errors:
        try:
            research_purposes(request)
        except (InvalidPurposeError, UnknownDiseaseError) as exc:
            add("primary_use", str(exc))
    waiting = CoApplicant.objects.filter(request=request, status=InvitationStatus.PENDING)
    for invitation in waiting:
        state = "has expired" if invitation.is_expired else "is not answered yet"
        add(
            "coapplicants",
            f"The invitation to {invitation.email} {state}: wait for it, or cancel it.",
        )
    for who, agreement in missing_acceptances(request):
        add(
            "agreements",
            f"{who.full_name or who.email} has not accepted the {agreement.committee.name} "
            f"data-access agreement (version {agreement.version}).",
        )
    return errors


def review_committees(request: AccessRequest) -> list[Committee]:
    """The DAC of each requested dataset and the committee of each community in them."""
    datasets = request.datasets.all()
    dacs = Committee.objects.filter(datasets__in=datasets)
    communities = Committee.objects.filter(
        pk__in=Sample.objects.filter(dataset__in=datasets, community__isnull=False).values(
            "community_id"
        )
    )
    return list((dacs | communities).distinct().order_by("name"))


def access_request_submit(*, actor: User, request: AccessRequest) -> AccessRequest:
    """1. lock; 2. refuse with every missing or invalid field at once; 3. move to submitted
    and open a new review round (one review per committee); 4. after commit, a worker
    starts the review (questions to participants, notices to the committees)."""
    with transaction.atomic(durable=True):
        request = locked(request)
        require_applicant(actor, request, "submit this request")
        require_editable(request)
        problems = submission_problems(request)
        if problems:
            raise AccessProblems(problems, code="incomplete")
        CommitteeReview.objects.filter(request=request, decision=ReviewDecision.PENDING).update(
            decision=ReviewDecision.SUPERSEDED
        )
        review_round = request.review_round + 1
        move(
            request,
            RequestStatus.SUBMITTED,
            actor=actor,
            extra={"submitted_at": timezone.now(), "review_round": review_round},
        )
        CommitteeReview.objects.bulk_create(
            [
                CommitteeReview(request=request, committee=c, review_round=review_round)
                for c in review_committees(request)
            ]
        )
        request_pk = request.pk
        transaction.on_commit(lambda: start_review_task.delay(request_pk))
    return request


def access_request_review_start(*, request_id: int) -> AccessRequest | None:
    """The worker's half of a submission: under review, questions raised, committees told.

    Does nothing unless the request is still submitted (a rerun is a no-op).
    """
    from access.services.questions import request_questions_raise

    with transaction.atomic(durable=True):
        request = AccessRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.status != RequestStatus.SUBMITTED:
            return None
        move(request, RequestStatus.UNDER_REVIEW, actor=None)
        raised = request_questions_raise(request=request)
        reviewers = User.objects.filter(
            committees__reviews__request=request,
            committees__reviews__review_round=request.review_round,
        ).distinct()
        notify(
            users=reviewers,
            message=f"New request to review: {request.accession} {request.title}",
            url=reverse("access:review", kwargs={"accession": request.accession}),
            template="access/email/submitted.txt",
            context={"request": request, "questions": raised},
        )
    return request


def access_request_withdraw(
    *, actor: User, request: AccessRequest, comment: str = ""
) -> AccessRequest:
    with transaction.atomic(durable=True):
        request = locked(request)
        require_applicant(actor, request, "withdraw this request")
        move(request, RequestStatus.WITHDRAWN, actor=actor, comment=comment.strip())
        request_questions_withdraw(request=request, reason="the researchers withdrew the request")
    return request


RENEWABLE = frozenset({RequestStatus.APPROVED, RequestStatus.EXPIRED})


def access_request_renew(*, actor: User, request: AccessRequest) -> AccessRequest:
    """A new draft pre-filled from an approved or expired request, linked to it."""
    require_applicant(actor, request, "renew this request")
    if request.status not in RENEWABLE:
        raise AccessError(
            f"Only an approved or expired request can be renewed; this one is "
            f"{request.get_status_display().lower()}.",
            code="not_renewable",
            http_status=409,
        )
    fields = {name: getattr(request, name) for name in EDITABLE_FIELDS if name != "access_end"}
    fields["security_attestation"] = False  # attested afresh for the new period
    with transaction.atomic(durable=True):
        renewal = AccessRequest.objects.create(applicant=actor, renewal_of=request, **fields)
        renewal.accession = request_accession_for(renewal.pk)
        renewal.save(update_fields=["accession"])
        _set_datasets(
            renewal, [d for d in request.datasets.all() if d.status == DatasetStatus.RELEASED]
        )
        permissions.grant_applicant(actor, renewal)
        event(renewal, EventKind.CREATED, actor=actor, comment=f"Renewal of {request.accession}")
        audit_log(
            actor=actor,
            action=AccessActions.RENEW,
            target=renewal,
            after={"renewal_of": request.accession},
        )
    return renewal
