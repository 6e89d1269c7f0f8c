"""Two people acting on one request at once: exactly one wins, the other gets a 409."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from access.models import AccessRequest, CommitteeReview, Grant, RequestStatus, ReviewDecision
from access.services import access_request_submit, review_decide, vote_cast
from datasets.models import Committee
from portal.exceptions import PortalError
from portal.models import Role, User
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL's concurrency"
    ),
]


def _race(*actions: Callable[[], Any]) -> list[str]:
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            action()
            outcomes.append("done")
        except PortalError as exc:
            outcomes.append(f"{exc.http_status}: {exc.message}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_submitting_twice_at_once_submits_once(draft: AccessRequest, researcher: User) -> None:
    outcomes = _race(
        lambda: access_request_submit(actor=researcher, request=draft),
        lambda: access_request_submit(actor=researcher, request=draft),
    )

    # The winner's commit starts the review at once (eager tasks), so the loser finds the
    # request either still submitted or already under review, whichever came first.
    refusals = {
        f"409: This request is {status}: it can be changed only while it is a draft or "
        "returned for changes."
        for status in ("submitted", "under review")
    }
    assert outcomes[1] == "done"
    assert outcomes[0] in refusals
    assert CommitteeReview.objects.filter(request=draft).count() == 1


def test_two_chairs_deciding_at_once_one_decision_stands(
    draft: AccessRequest, researcher: User, dac: Committee, dac_chair: User, dac_member: User
) -> None:
    second_chair = UserFactory(email="second.chair@example.org", role=Role.DAC_CHAIR)
    dac.chairs.add(second_chair)
    dac.members.add(second_chair)
    access_request_submit(actor=researcher, request=draft)
    # The worker's half of the submission, run here (eager tasks need a commit hook).
    from access.services import access_request_review_start

    access_request_review_start(request_id=draft.pk)
    review = CommitteeReview.objects.get(request=draft)
    for member in (dac_chair, dac_member, second_chair):
        vote_cast(actor=member, review=review, choice="approve", rationale="Sound")

    outcomes = _race(
        lambda: review_decide(actor=dac_chair, review=review, decision="approved"),
        lambda: review_decide(
            actor=second_chair, review=review, decision="rejected", justification="Conflict"
        ),
    )

    review.refresh_from_db()
    assert outcomes[0] == "409: " + (
        f"The Test DAC has already decided ({review.get_decision_display().lower()}): "
        "deciding is closed."
    )
    assert outcomes[1] == "done"
    draft.refresh_from_db()
    expected = (
        RequestStatus.APPROVED
        if review.decision == ReviewDecision.APPROVED
        else RequestStatus.REJECTED
    )
    assert draft.status == expected
    assert Grant.objects.count() == (1 if expected == RequestStatus.APPROVED else 0)
