"""Reads for the applicant's pages: invitations waiting for them, the request's datasets,
decisions, renewals and who has accepted which agreement."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from access.models import (
    AccessRequest,
    AgreementAcceptance,
    CoApplicant,
    CommitteeReview,
    DataAccessAgreement,
    InvitationStatus,
    ReviewDecision,
    Vote,
)
from access.permissions import RequestRights
from access.selectors.agreements import current_agreements, signatories
from datasets.models import Dataset
from portal.models import User, normalize_email


def invitations_for(user: User) -> QuerySet[CoApplicant]:
    """Invitations to co-apply sent to the user's email and not yet answered, newest first."""
    return (
        CoApplicant.objects.filter(
            email=normalize_email(user.email), status=InvitationStatus.PENDING
        )
        .select_related("request__applicant")
        .order_by("-invited_at", "-pk")
    )


def datasets_of(request: AccessRequest) -> list[Dataset]:
    return list(request.datasets.select_related("committee").order_by("accession"))


def decisions_of(request: AccessRequest, rights: RequestRights) -> list[CommitteeReview]:
    """Every committee's recorded decision, oldest round first, each with `shown_votes`: its
    votes for that committee's members and stewards, none for anybody else."""
    reviews = list(
        CommitteeReview.objects.filter(request=request)
        .exclude(decision__in=[ReviewDecision.PENDING, ReviewDecision.SUPERSEDED])
        .select_related("committee", "decided_by")
        .prefetch_related(
            Prefetch("votes", queryset=Vote.objects.select_related("member").order_by("cast_at"))
        )
        .order_by("review_round", "decided_at", "committee__name")
    )
    for review in reviews:
        visible = rights.sees_internal_of(review.committee_id)
        review.shown_votes = list(review.votes.all()) if visible else []  # type: ignore[attr-defined]
    return reviews


def renewals_of(request: AccessRequest) -> list[AccessRequest]:
    return list(AccessRequest.objects.filter(renewal_of=request).order_by("created_at", "pk"))


@dataclass(frozen=True)
class Signature:
    person: User
    acceptance: AgreementAcceptance | None


@dataclass(frozen=True)
class AgreementRow:
    agreement: DataAccessAgreement
    signatures: list[Signature]


def agreement_rows(request: AccessRequest) -> list[AgreementRow]:
    """Each agreement now in force, with every signatory and when (if) they accepted it."""
    agreements = current_agreements(request)
    if not agreements:
        return []
    people = signatories(request)
    accepted = {
        (a.user_id, a.agreement_id): a
        for a in AgreementAcceptance.objects.filter(request=request, agreement__in=agreements)
    }
    return [
        AgreementRow(agreement, [Signature(p, accepted.get((p.pk, agreement.pk))) for p in people])
        for agreement in agreements
    ]


def is_signatory(request: AccessRequest, user: User) -> bool:
    """The applicant or a co-applicant who accepted: the people who sign the agreements."""
    return any(person.pk == user.pk for person in signatories(request))
