"""Access fixtures: a DAC with its agreement, a released dataset whose samples belong to
participants with known consent, and a complete draft request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from access.models import AccessRequest
from access.services import access_request_create, agreement_publish, agreements_accept
from consent.models import ConsentVersion, Participant
from datasets.models import (
    Committee,
    CommitteeKind,
    Dataset,
    DatasetStatus,
    LinkStatus,
    Sample,
    accession_for,
)
from portal.models import Role, User
from tests.consent.conftest import ALL_YES, give, make_version
from tests.factories import CommitteeFactory, ParticipantFactory, UserFactory

AGREEMENT_TEXT = "We will keep the data secure and use it only for the approved project."


@pytest.fixture
def consent_version(steward: User) -> ConsentVersion:
    from consent.services import consent_version_publish

    return consent_version_publish(actor=steward, version=make_version(steward))


@pytest.fixture
def dac(dac_chair: User, dac_member: User, third_member: User) -> Committee:
    """The dataset's DAC: the chair and two members (a majority is two votes)."""
    committee = Committee.objects.get(name="Test DAC")
    committee.members.add(third_member)
    return committee


@pytest.fixture
def other_dac_member(db: None) -> User:
    member = UserFactory(email="other.dac@example.org", role=Role.DAC_CHAIR)
    committee = CommitteeFactory(name="Other DAC")
    committee.chairs.add(member)
    committee.members.add(member)
    return member


@pytest.fixture
def agreement(steward: User, dac: Committee) -> Any:
    return agreement_publish(actor=steward, committee=dac, text=AGREEMENT_TEXT)


def participant_with(version: ConsentVersion, answers: dict[str, str], **user: Any) -> Participant:
    participant = ParticipantFactory(**{f"user__{k}": v for k, v in user.items()})
    give(participant, version, answers)
    return participant


def released_dataset(
    steward: User, committee: Committee, title: str = "Test cohort", **conditions: Any
) -> Dataset:
    """A released dataset made directly: releasing files is the datasets app's business."""
    conditions.setdefault("permission", "GRU")
    dataset = Dataset.objects.create(
        title=title,
        committee=committee,
        created_by=steward,
        status=DatasetStatus.RELEASED,
        released_at=timezone.now(),
        **conditions,
    )
    dataset.accession = accession_for(dataset.pk)
    dataset.save(update_fields=["accession"])
    return dataset


def link_sample(
    dataset: Dataset,
    participant: Participant | None,
    sample_id: str,
    community: Committee | None = None,
) -> Sample:
    return Sample.objects.create(
        dataset=dataset,
        sample_id=sample_id,
        participant=participant,
        link=LinkStatus.LINKED if participant else LinkStatus.UNLINKED,
        community=community,
    )


@dataclass
class Cohort:
    dataset: Dataset
    consenting: list[Participant]
    refusing: list[Participant]


@pytest.fixture
def cohort(steward: User, dac: Committee, consent_version: ConsentVersion) -> Cohort:
    """Six participants who said yes to everything and two who said no to any research."""
    dataset = released_dataset(steward, dac)
    consenting = [participant_with(consent_version, ALL_YES) for _ in range(6)]
    refusing = [
        participant_with(consent_version, {**ALL_YES, "general": "no", "health": "no"})
        for _ in range(2)
    ]
    for n, person in enumerate([*consenting, *refusing]):
        link_sample(dataset, person, f"S{n:03d}")
    return Cohort(dataset, consenting, refusing)


COMPLETE = {
    "title": "Variants in heart disease",
    "lay_summary": "We look for DNA changes linked to heart disease.",
    "scientific_abstract": "A case-control association study of rare coding variants.",
    "primary_use": "HMB",
    "countries": ["GB"],
    "institution": "Example University",
    "signing_official_name": "Sigrid Official",
    "signing_official_email": "official@example.org",
    "security_attestation": True,
}


def complete_draft(researcher: User, *datasets: Dataset, **changes: Any) -> AccessRequest:
    return access_request_create(
        actor=researcher, dataset_ids=[d.pk for d in datasets], **{**COMPLETE, **changes}
    )


@pytest.fixture
def draft(researcher: User, cohort: Cohort, agreement: Any) -> AccessRequest:
    request = complete_draft(researcher, cohort.dataset)
    agreements_accept(actor=researcher, request=request)
    return request


@pytest.fixture
def community(dac_chair: User) -> Committee:
    chair = UserFactory(email="elder@nation.example", full_name="Ela Elder", role=Role.DAC_CHAIR)
    committee = CommitteeFactory(name="Nation governance committee", kind=CommitteeKind.COMMUNITY)
    committee.chairs.add(chair)
    committee.members.add(chair)
    return committee


def submit_for_review(request: AccessRequest, actor: User, capture: Any) -> AccessRequest:
    """Submit and let the review start (it runs after commit)."""
    from access.services import access_request_submit

    with capture(execute=True):
        access_request_submit(actor=actor, request=request)
    request.refresh_from_db()
    return request


@pytest.fixture
def in_review(
    draft: AccessRequest, researcher: User, django_capture_on_commit_callbacks: Any
) -> AccessRequest:
    """The draft, submitted: under review by the Test DAC (chair, member, third member)."""
    return submit_for_review(draft, researcher, django_capture_on_commit_callbacks)


def approve_by_votes(request: AccessRequest, chair: User, member: User) -> AccessRequest:
    """Two approving votes (the Test DAC's majority) and the chair's approval."""
    from access.services import review_decide, vote_cast

    review = request.reviews.get(committee__name="Test DAC")
    vote_cast(actor=member, review=review, choice="approve", rationale="Sound design.")
    vote_cast(actor=chair, review=review, choice="approve", rationale="Agreed.")
    review_decide(actor=chair, review=review, decision="approved")
    request.refresh_from_db()
    return request


# Deliveries: generated genomic files in a data root of the test's own, and an approved grant.
from tests.access.beacon_support import beacon_vcf, beacon_world  # noqa: E402, F401
from tests.access.delivery_support import (  # noqa: E402, F401
    approved_request,
    data_root,
    delivery_world,
    sources,
)
