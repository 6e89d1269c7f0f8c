"""Which data-access agreements apply to a request, and who has yet to accept them."""

from __future__ import annotations

from access.models import (
    AccessRequest,
    AgreementAcceptance,
    CoApplicant,
    DataAccessAgreement,
    InvitationStatus,
)
from datasets.models import Committee
from portal.models import User


def current_agreement(committee: Committee) -> DataAccessAgreement | None:
    return DataAccessAgreement.objects.filter(committee=committee).order_by("-version").first()


def current_agreements(request: AccessRequest) -> list[DataAccessAgreement]:
    """The newest published agreement of each DAC whose dataset the request asks for."""
    committees = Committee.objects.filter(datasets__in=request.datasets.all()).distinct()
    latest: dict[int, DataAccessAgreement] = {}
    for agreement in DataAccessAgreement.objects.filter(committee__in=committees).select_related(
        "committee"
    ):
        held = latest.get(agreement.committee_id)
        if held is None or agreement.version > held.version:
            latest[agreement.committee_id] = agreement
    return sorted(latest.values(), key=lambda a: a.committee.name)


def signatories(request: AccessRequest) -> list[User]:
    """The applicant and every co-applicant who accepted the invitation."""
    coapplicants = [
        c.user
        for c in CoApplicant.objects.filter(
            request=request, status=InvitationStatus.ACCEPTED
        ).select_related("user")
        if c.user is not None
    ]
    return [request.applicant, *coapplicants]


def missing_acceptances(request: AccessRequest) -> list[tuple[User, DataAccessAgreement]]:
    agreements = current_agreements(request)
    if not agreements:
        return []
    accepted = set(
        AgreementAcceptance.objects.filter(request=request, agreement__in=agreements).values_list(
            "user_id", "agreement_id"
        )
    )
    return [
        (person, agreement)
        for person in signatories(request)
        for agreement in agreements
        if (person.pk, agreement.pk) not in accepted
    ]


def has_accepted_all(request: AccessRequest, user: User) -> bool:
    return not any(person.pk == user.pk for person, _ in missing_acceptances(request))
