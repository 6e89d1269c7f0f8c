from __future__ import annotations

from access.models import Grant, RequestStatus
from access.selectors.consented import consent_breakdown
from access.services import access_request_submit, review_decide, vote_cast
from portal.models import User


def test_flow(
    draft,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    cohort,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = access_request_submit(actor=researcher, request=draft)
    request.refresh_from_db()
    assert request.status == RequestStatus.UNDER_REVIEW
    review = request.reviews.get()
    vote_cast(actor=dac_member, review=review, choice="approve", rationale="Fine")
    vote_cast(actor=dac_chair, review=review, choice="approve", rationale="Fine too")
    review_decide(actor=dac_chair, review=review, decision="approved")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert Grant.objects.filter(request=request).count() == 1
    b = consent_breakdown(request, cohort.dataset)
    assert (b.consenting, b.excluded) == (6, {"narrower": 2})


def test_panels(
    draft, researcher, dac_chair, dac_member, cohort, django_capture_on_commit_callbacks
) -> None:
    from access.selectors.requests import committee_queue, data_uses_for_participant, review_panels

    with django_capture_on_commit_callbacks(execute=True):
        request = access_request_submit(actor=researcher, request=draft)
    request.refresh_from_db()
    panels = review_panels(request, dac_member)
    assert panels[0].can_vote and not panels[0].can_decide
    q = committee_queue(dac_member)
    assert q.total == 1 and q.waiting_for_me == 1
    assert data_uses_for_participant(cohort.consenting[0]) == []
