"""Moves a request through review with the services, for the researcher page tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from access.models import AccessRequest
from access.services import access_request_submit, review_decide, vote_cast
from portal.models import User

DECISION_COMMENT = "Approved for the heart study only."
CONDITIONS = "Publish results openly within a year."
VOTE_RATIONALE = "Secret rationale of the member."


def submit(draft: AccessRequest, applicant: User, capture: Any) -> AccessRequest:
    with capture(execute=True):
        access_request_submit(actor=applicant, request=draft)
    draft.refresh_from_db()
    return draft


def approve(
    draft: AccessRequest, applicant: User, member: User, chair: User, capture: Any
) -> AccessRequest:
    """Submitted, two approving votes, the chair's approval with a comment and conditions."""
    submit(draft, applicant, capture)
    review = draft.reviews.get()
    vote_cast(actor=member, review=review, choice="approve", rationale=VOTE_RATIONALE)
    vote_cast(actor=chair, review=review, choice="approve", rationale="Fine.")
    with capture(execute=True):
        review_decide(
            actor=chair,
            review=review,
            decision="approved",
            comment=DECISION_COMMENT,
            conditions=CONDITIONS,
            grant_end=timezone.localdate() + dt.timedelta(days=200),
        )
    draft.refresh_from_db()
    return draft
