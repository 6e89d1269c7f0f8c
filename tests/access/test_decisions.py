"""The chair's decision: quorum, recusal, justification, the grant's end, and what the
request becomes when several committees decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from access.models import AccessRequest, Grant, RequestStatus, ReviewDecision
from access.services import (
    access_request_submit,
    access_request_update,
    agreements_accept,
    coapplicant_answer,
    coapplicant_invite,
    review_decide,
    vote_cast,
)
from access.services.base import AccessConflict, AccessError
from datasets.models import Committee
from portal.exceptions import PermissionError_
from portal.models import Role, User
from tests.access.conftest import Cohort, complete_draft, released_dataset
from tests.factories import UserFactory

TODAY = timezone.localdate


def _submit(request: AccessRequest, researcher: User, capture: Any) -> AccessRequest:
    with capture(execute=True):
        access_request_submit(actor=researcher, request=request)
    request.refresh_from_db()
    return request


@pytest.fixture
def reviewing(
    draft: AccessRequest, researcher: User, django_capture_on_commit_callbacks: Any
) -> Any:
    request = _submit(draft, researcher, django_capture_on_commit_callbacks)
    return request.reviews.get()


def _votes(review: Any, *members: User, choice: str = "approve") -> None:
    for member in members:
        vote_cast(actor=member, review=review, choice=choice, rationale=f"{member.email} agrees")


def test_a_decision_needs_a_majority_of_members_by_default(
    reviewing: Any, dac_chair: User, dac_member: User
) -> None:
    _votes(reviewing, dac_chair)

    with pytest.raises(
        AccessConflict, match=r"No quorum yet: 1 of 2 needed votes \(3 members may vote\)"
    ):
        review_decide(actor=dac_chair, review=reviewing, decision="approved")

    _votes(reviewing, dac_member)
    review_decide(actor=dac_chair, review=reviewing, decision="approved")
    reviewing.refresh_from_db()
    assert reviewing.decision == ReviewDecision.APPROVED


def test_a_configured_quorum_is_used(reviewing: Any, dac: Committee, dac_chair: User) -> None:
    Committee.objects.filter(pk=dac.pk).update(quorum=1)
    _votes(reviewing, dac_chair)

    review_decide(actor=dac_chair, review=reviewing, decision="approved")

    assert reviewing.request.grants.count() == 1


def test_a_member_changes_the_vote_until_the_decision(
    reviewing: Any, dac_chair: User, dac_member: User
) -> None:
    _votes(reviewing, dac_member, choice="reject")
    _votes(reviewing, dac_member, choice="approve")
    assert list(reviewing.votes.values_list("choice", flat=True)) == ["approve"]
    _votes(reviewing, dac_chair)
    review_decide(actor=dac_chair, review=reviewing, decision="approved")

    with pytest.raises(AccessConflict, match="has already decided .approved.: voting is closed"):
        _votes(reviewing, dac_member, choice="reject")


def test_only_a_chair_decides(reviewing: Any, dac_chair: User, dac_member: User) -> None:
    _votes(reviewing, dac_chair, dac_member)

    with pytest.raises(
        PermissionError_, match="Only a chair of the Test DAC records its decision."
    ):
        review_decide(actor=dac_member, review=reviewing, decision="approved")


def test_the_applicant_on_the_committee_is_recused(
    dac: Committee,
    cohort: Cohort,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
    dac_chair: User,
) -> None:
    applicant = UserFactory(email="wears.two.hats@example.org", role=Role.RESEARCHER)
    applicant.roles = [Role.RESEARCHER, Role.DAC_MEMBER]
    applicant.save()
    dac.members.add(applicant)
    request = complete_draft(applicant, cohort.dataset)
    agreements_accept(actor=applicant, request=request)
    review = _submit(request, applicant, django_capture_on_commit_callbacks).reviews.get()

    with pytest.raises(
        PermissionError_, match="You are recused from this review: You are the applicant."
    ):
        _votes(review, applicant)


def test_members_of_the_applicants_institution_are_recused_when_configured(
    dac: Committee,
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Committee.objects.filter(pk=dac.pk).update(recuse_same_institution=True)
    User.objects.filter(pk=dac_member.pk).update(institution="Example University")
    User.objects.filter(pk=dac_chair.pk).update(institution="Chair College")
    review = _submit(draft, researcher, django_capture_on_commit_callbacks).reviews.get()
    dac_member.refresh_from_db()
    dac_chair.refresh_from_db()

    with pytest.raises(
        PermissionError_, match=r"from the applicant's institution \(Example University\)"
    ):
        _votes(review, dac_member)
    # Two members may vote, and the majority of two is two.
    _votes(review, dac_chair)
    with pytest.raises(AccessConflict, match=r"1 of 2 needed votes \(2 members may vote\)"):
        review_decide(actor=dac_chair, review=review, decision="approved")


def test_departing_from_the_match_needs_a_justification(
    reviewing: Any, dac_chair: User, dac_member: User
) -> None:
    _votes(reviewing, dac_chair, dac_member, choice="reject")

    with pytest.raises(AccessError, match="The automated match says APPROVE: explain in writing"):
        review_decide(actor=dac_chair, review=reviewing, decision="rejected")

    review_decide(
        actor=dac_chair, review=reviewing, decision="rejected", justification="Scientific merit"
    )
    reviewing.refresh_from_db()
    assert (reviewing.match_outcome, reviewing.justification) == ("approve", "Scientific merit")
    assert reviewing.request.status == RequestStatus.REJECTED


def test_the_grant_ends_after_a_year_by_default(
    reviewing: Any, dac_chair: User, dac_member: User, researcher: User
) -> None:
    _votes(reviewing, dac_chair, dac_member)

    review_decide(actor=dac_chair, review=reviewing, decision="approved", conditions="Cite us")

    grant = Grant.objects.get()
    assert (grant.grantee, grant.starts_on, grant.ends_on, grant.conditions) == (
        researcher,
        TODAY(),
        TODAY() + dt.timedelta(days=365),
        "Cite us",
    )


def test_an_end_in_the_past_is_refused(reviewing: Any, dac_chair: User, dac_member: User) -> None:
    _votes(reviewing, dac_chair, dac_member)
    yesterday = TODAY() - dt.timedelta(days=1)

    with pytest.raises(AccessError, match=f"The end of access .{yesterday}. is in the past."):
        review_decide(actor=dac_chair, review=reviewing, decision="approved", grant_end=yesterday)
    assert not Grant.objects.exists()


def test_a_time_limited_dataset_caps_the_grant(
    steward: User,
    dac: Committee,
    cohort: Cohort,
    researcher: User,
    agreement: Any,
    dac_chair: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    limit = TODAY() + dt.timedelta(days=100)
    limited = released_dataset(steward, dac, title="Limited", modifiers=["TS"], time_limit=limit)
    request = complete_draft(researcher, limited, access_end=limit)
    agreements_accept(actor=researcher, request=request)
    review = _submit(request, researcher, django_capture_on_commit_callbacks).reviews.get()
    _votes(review, dac_chair, dac_member)

    later = limit + dt.timedelta(days=1)
    with pytest.raises(
        AccessError, match=f"after {limited.accession}'s time limit .TS. of {limit}"
    ):
        review_decide(actor=dac_chair, review=review, decision="approved", grant_end=later)
    review_decide(actor=dac_chair, review=review, decision="approved")
    assert Grant.objects.get().ends_on == limit


def test_co_applicants_who_accepted_get_grants(
    draft: AccessRequest,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    colleague = UserFactory(email="colleague@example.org", role=Role.RESEARCHER)
    invitation = coapplicant_invite(actor=researcher, request=draft, email=colleague.email)
    coapplicant_answer(actor=colleague, invitation=invitation, accept=True, accept_agreements=True)
    review = _submit(draft, researcher, django_capture_on_commit_callbacks).reviews.get()
    _votes(review, dac_chair, dac_member)

    review_decide(actor=dac_chair, review=review, decision="approved")

    assert set(Grant.objects.values_list("grantee__email", flat=True)) == {
        "researcher@example.org",
        "colleague@example.org",
    }


def test_two_dacs_one_approves_one_rejects(
    steward: User,
    cohort: Cohort,
    researcher: User,
    agreement: Any,
    dac_chair: User,
    dac_member: User,
    other_dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = Committee.objects.get(name="Other DAC")
    theirs = released_dataset(steward, other, title="Theirs")
    request = complete_draft(researcher, cohort.dataset, theirs)
    agreements_accept(actor=researcher, request=request)
    request = _submit(request, researcher, django_capture_on_commit_callbacks)
    ours = request.reviews.get(committee__name="Test DAC")
    other_review = request.reviews.get(committee=other)

    _votes(other_review, other_dac_member, choice="reject")
    review_decide(
        actor=other_dac_member, review=other_review, decision="rejected", justification="Overlap"
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.UNDER_REVIEW
    _votes(ours, dac_chair, dac_member)
    review_decide(actor=dac_chair, review=ours, decision="approved")

    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert list(Grant.objects.values_list("dataset__title", flat=True)) == ["Test cohort"]


def test_a_returned_request_is_changed_and_reviewed_again_in_a_new_round(
    reviewing: Any,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _votes(reviewing, dac_chair, dac_member, choice="reject")
    review_decide(actor=dac_chair, review=reviewing, decision="returned", comment="Add controls")
    request = AccessRequest.objects.get(pk=reviewing.request_id)
    assert request.status == RequestStatus.RETURNED

    access_request_update(actor=researcher, request=request, scientific_abstract="With controls.")
    request = _submit(request, researcher, django_capture_on_commit_callbacks)

    assert request.review_round == 2
    second = request.reviews.get(review_round=2)
    assert second.votes.count() == 0
    with pytest.raises(AccessConflict, match="belongs to an earlier round"):
        _votes(reviewing, dac_member)


def test_editing_a_submitted_request_is_refused(reviewing: Any, researcher: User) -> None:
    with pytest.raises(
        AccessConflict, match="This request is under review: it can be changed only"
    ):
        access_request_update(actor=researcher, request=reviewing.request, title="New title")
