"""Community governance: a community's samples count only once its committee approves."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import CommitteeReview, RequestStatus, ReviewDecision
from access.selectors.consented import consent_breakdown, consenting_samples
from access.selectors.requests import community_uses
from access.services import access_request_submit, review_decide, vote_cast
from access.services.base import AccessConflict, AccessError
from consent.models import ConsentVersion
from datasets.models import Committee
from portal.exceptions import PermissionError_
from portal.models import User
from tests.access.conftest import Cohort, link_sample, participant_with
from tests.consent.conftest import ALL_YES


@pytest.fixture
def with_community(cohort: Cohort, community: Committee, consent_version: ConsentVersion) -> Cohort:
    for n in range(3):
        member = participant_with(consent_version, ALL_YES)
        link_sample(cohort.dataset, member, f"NATION-{n}", community=community)
    return cohort


@pytest.fixture
def under_review(
    draft: Any, researcher: User, with_community: Cohort, django_capture_on_commit_callbacks: Any
) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        access_request_submit(actor=researcher, request=draft)
    draft.refresh_from_db()
    return draft


def _elder(community: Committee) -> User:
    return community.chairs.get()


def test_submission_opens_a_review_for_the_community_too(
    under_review: Any, community: Committee
) -> None:
    names = list(under_review.reviews.values_list("committee__name", flat=True))

    assert names == ["Nation governance committee", "Test DAC"]


def test_community_samples_are_out_until_its_committee_approves(
    under_review: Any, with_community: Cohort, community: Committee
) -> None:
    breakdown = consent_breakdown(under_review, with_community.dataset)
    assert (breakdown.consenting, breakdown.excluded) == (6, {"community": 3, "narrower": 2})

    review = CommitteeReview.objects.get(request=under_review, committee=community)
    vote_cast(actor=_elder(community), review=review, choice="approve", rationale="Benefits us")
    review_decide(actor=_elder(community), review=review, decision="approved")

    breakdown = consent_breakdown(under_review, with_community.dataset)
    assert (breakdown.consenting, breakdown.excluded) == (9, {"narrower": 2})


def test_a_community_rejection_keeps_its_samples_out_but_not_the_rest(
    under_review: Any,
    with_community: Cohort,
    community: Committee,
    dac_chair: User,
    dac_member: User,
) -> None:
    community_review = CommitteeReview.objects.get(request=under_review, committee=community)
    vote_cast(actor=_elder(community), review=community_review, choice="reject", rationale="No")
    review_decide(actor=_elder(community), review=community_review, decision="rejected")
    dac_review = CommitteeReview.objects.get(request=under_review, committee__name="Test DAC")
    for member in (dac_chair, dac_member):
        vote_cast(actor=member, review=dac_review, choice="approve", rationale="Sound")
    review_decide(actor=dac_chair, review=dac_review, decision="approved")

    under_review.refresh_from_db()
    assert under_review.status == RequestStatus.APPROVED
    samples = set(
        consenting_samples(under_review, with_community.dataset).values_list("sample_id", flat=True)
    )
    assert samples == {f"S{n:03d}" for n in range(6)}


def test_the_community_may_decide_after_the_dac_approved(
    under_review: Any,
    with_community: Cohort,
    community: Committee,
    dac_chair: User,
    dac_member: User,
) -> None:
    dac_review = CommitteeReview.objects.get(request=under_review, committee__name="Test DAC")
    for member in (dac_chair, dac_member):
        vote_cast(actor=member, review=dac_review, choice="approve", rationale="Sound")
    review_decide(actor=dac_chair, review=dac_review, decision="approved")
    community_review = CommitteeReview.objects.get(request=under_review, committee=community)

    vote_cast(actor=_elder(community), review=community_review, choice="approve", rationale="Yes")
    review_decide(actor=_elder(community), review=community_review, decision="approved")

    assert consent_breakdown(under_review, with_community.dataset).consenting == 9


def test_a_community_cannot_return_the_request(under_review: Any, community: Committee) -> None:
    review = CommitteeReview.objects.get(request=under_review, committee=community)
    vote_cast(actor=_elder(community), review=review, choice="reject", rationale="Unclear")

    with pytest.raises(AccessError, match="approves or rejects the use of its members' data"):
        review_decide(actor=_elder(community), review=review, decision="returned", comment="?")
    review.refresh_from_db()
    assert review.decision == ReviewDecision.PENDING


def test_dac_members_do_not_vote_for_the_community(
    under_review: Any, community: Committee, dac_member: User
) -> None:
    review = CommitteeReview.objects.get(request=under_review, committee=community)

    with pytest.raises(PermissionError_, match="Only members of the Nation governance committee"):
        vote_cast(actor=dac_member, review=review, choice="approve", rationale="Fine")


def test_the_community_sees_the_requests_using_its_members_data(
    under_review: Any, community: Committee, steward: User, cohort: Cohort
) -> None:
    from tests.access.conftest import complete_draft, released_dataset

    elsewhere = released_dataset(steward, cohort.dataset.committee, title="Unrelated")
    complete_draft(under_review.applicant, elsewhere, title="Not about the nation")

    assert [r.accession for r in community_uses(community)] == [under_review.accession]


def test_deciding_twice_is_refused(under_review: Any, community: Committee) -> None:
    review = CommitteeReview.objects.get(request=under_review, committee=community)
    vote_cast(actor=_elder(community), review=review, choice="approve", rationale="Yes")
    review_decide(actor=_elder(community), review=review, decision="approved")

    with pytest.raises(AccessConflict, match="has already decided"):
        review_decide(actor=_elder(community), review=review, decision="rejected")
