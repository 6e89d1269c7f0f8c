"""Every (from, to) pair of the request's life, allowed and refused.

The allowed pairs are written out here, from the issue's description of the state
machine; they are never read from access.transitions.
"""

from __future__ import annotations

import itertools

import pytest

from access.models import AccessRequest, RequestStatus
from access.services.base import move
from access.transitions import REQUEST_TRANSITIONS
from portal.models import AuditEvent, User
from portal.transitions import TransitionError

S = RequestStatus
ALLOWED = {
    (S.DRAFT, S.SUBMITTED),
    (S.DRAFT, S.WITHDRAWN),
    (S.SUBMITTED, S.UNDER_REVIEW),
    (S.SUBMITTED, S.WITHDRAWN),
    (S.UNDER_REVIEW, S.APPROVED),
    (S.UNDER_REVIEW, S.REJECTED),
    (S.UNDER_REVIEW, S.RETURNED),
    (S.RETURNED, S.SUBMITTED),
    (S.RETURNED, S.WITHDRAWN),
    (S.APPROVED, S.REVOKED),
    (S.APPROVED, S.EXPIRED),
}


def test_the_table_holds_exactly_the_written_pairs() -> None:
    table = {(start, to) for start, targets in REQUEST_TRANSITIONS.items() for to in targets}

    assert table == ALLOWED
    assert set(REQUEST_TRANSITIONS) == set(RequestStatus)


@pytest.mark.parametrize(("start", "to"), list(itertools.product(RequestStatus, RequestStatus)))
def test_request_transition(researcher: User, start: RequestStatus, to: RequestStatus) -> None:
    request = AccessRequest.objects.create(applicant=researcher, title="T", status=start)

    if (start, to) in ALLOWED:
        move(request, to, actor=researcher, comment="why")
        request.refresh_from_db()
        assert request.status == to
        assert request.events.get().kind == to.value
        assert AuditEvent.objects.filter(action=f"accessrequest.{to.value}").count() == 1
    else:
        with pytest.raises(TransitionError) as refused:
            move(request, to, actor=researcher)
        assert refused.value.http_status == 409
        request.refresh_from_db()
        assert request.status == start
        assert not request.events.exists()
