"""What a person's GA4GH visas assert: active grants, accepted agreements, bona fide status.

Each is read at the moment of asking: a revoked or ended grant, or an expired confirmation,
simply yields no visa (nothing has to be withdrawn). Signing is access/visas.py's business.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from access.models import (
    AgreementAcceptance,
    DataAccessAgreement,
    Grant,
    OfficialAnswer,
    SigningOfficialConfirmation,
)
from datasets.models import Committee, Dataset
from portal.models import User

CONTROLLED_ACCESS_GRANTS = "ControlledAccessGrants"
ACCEPTED_TERMS_AND_POLICIES = "AcceptedTermsAndPolicies"
RESEARCHER_STATUS = "ResearcherStatus"
# The value GA4GH AAI gives a bona fide researcher status: the registered-access paper
# (Dyke et al., Eur J Hum Genet 2018) that defines it.
BONA_FIDE_VALUE = "https://doi.org/10.1038/s41431-018-0219-y"


@dataclass(frozen=True)
class VisaContent:
    """One assertion, before signing: `ends` caps the visa's lifetime (None: no own end)."""

    type: str
    value: str
    source: str
    by: str
    asserted: dt.datetime
    ends: dt.datetime | None

    def claim(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "asserted": int(self.asserted.timestamp()),
            "value": self.value,
            "source": self.source,
            "by": self.by,
        }


def dataset_url(dataset: Dataset) -> str:
    return settings.SITE_URL + reverse(
        "datasets:catalogue_detail", kwargs={"accession": dataset.accession}
    )


def committee_url(committee: Committee | int) -> str:
    pk = committee if isinstance(committee, int) else committee.pk
    return settings.SITE_URL + reverse("ga4gh:committee", kwargs={"committee_id": pk})


def agreement_url(agreement: DataAccessAgreement | int) -> str:
    pk = agreement if isinstance(agreement, int) else agreement.pk
    return settings.SITE_URL + reverse("ga4gh:agreement", kwargs={"agreement_id": pk})


def grant_end(grant: Grant) -> dt.datetime:
    """The moment a grant ends: the start of the day after its last day, portal time."""
    return timezone.make_aware(dt.datetime.combine(grant.ends_on + dt.timedelta(days=1), dt.time()))


def visa_grants(user: User, today: dt.date | None = None) -> list[Grant]:
    """The user's grants in force today (`Grant.is_active_on`), with what the visa names."""
    today = today or timezone.localdate()
    grants = (
        Grant.objects.filter(
            grantee=user, revoked_at__isnull=True, starts_on__lte=today, ends_on__gte=today
        )
        .select_related("dataset", "review")
        .order_by("dataset__accession", "ends_on", "pk")
    )
    return [g for g in grants if g.is_active_on(today)]


def official_status(user: User) -> SigningOfficialConfirmation | None:
    """The newest confirmation still in force, if any."""
    return (
        SigningOfficialConfirmation.objects.filter(
            researcher=user, status=OfficialAnswer.CONFIRMED, expires_at__gt=timezone.now()
        )
        .order_by("-confirmed_at", "-pk")
        .first()
    )


def latest_official_request(user: User) -> SigningOfficialConfirmation | None:
    return (
        SigningOfficialConfirmation.objects.filter(researcher=user)
        .order_by("-asked_at", "-pk")
        .first()
    )


def official_source(email: str) -> str:
    """The signing official's organisation, as the domain of the mailbox that confirmed."""
    return f"https://{email.rpartition('@')[2].lower()}/"


def visas_of(user: User) -> list[VisaContent]:
    """Everything the portal asserts about this person today; none for a disabled account.

    Three queries whatever the number of grants and agreements.
    """
    if not user.is_active:
        return []
    contents = [
        VisaContent(
            type=CONTROLLED_ACCESS_GRANTS,
            value=dataset_url(grant.dataset),
            source=committee_url(grant.review.committee_id),
            by="dac",
            asserted=grant.review.decided_at or grant_end(grant),
            ends=grant_end(grant),
        )
        for grant in visa_grants(user)
    ]
    first_accepted: dict[int, tuple[dt.datetime, int]] = {}
    acceptances = AgreementAcceptance.objects.filter(user=user).values_list(
        "agreement_id", "agreement__committee_id", "accepted_at"
    )
    for agreement_id, committee_id, accepted_at in acceptances:
        held = first_accepted.get(agreement_id)
        if held is None or accepted_at < held[0]:
            first_accepted[agreement_id] = (accepted_at, committee_id)
    contents += [
        VisaContent(
            type=ACCEPTED_TERMS_AND_POLICIES,
            value=agreement_url(agreement_id),
            source=committee_url(committee_id),
            by="self",
            asserted=accepted_at,
            ends=None,
        )
        for agreement_id, (accepted_at, committee_id) in sorted(first_accepted.items())
    ]
    confirmation = official_status(user)
    if confirmation is not None and confirmation.confirmed_at and confirmation.expires_at:
        contents.append(
            VisaContent(
                type=RESEARCHER_STATUS,
                value=BONA_FIDE_VALUE,
                source=official_source(confirmation.official_email),
                by="so",
                asserted=confirmation.confirmed_at,
                ends=confirmation.expires_at,
            )
        )
    return contents
