"""'Ask me each time': a request under review asks the participants whose "ask" answer it
touches; their samples count only after a yes, on the consent they still hold."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest, RequestQuestion
from access.selectors.consented import consent_breakdown, consenting_samples
from access.services import access_request_submit, access_request_withdraw
from consent.models import Channel, ConsentQuestion, ConsentVersion, Participant, QuestionStatus
from consent.services import consent_question_answer, consent_record
from portal.models import User
from tests.access.conftest import Cohort, complete_draft, link_sample, participant_with
from tests.consent.conftest import ALL_YES


@pytest.fixture
def asker(consent_version: ConsentVersion, cohort: Cohort) -> Participant:
    """Says yes to research but "ask me each time" to commercial use."""
    person = participant_with(consent_version, {**ALL_YES, "commercial": "ask"})
    link_sample(cohort.dataset, person, "ASK-1")
    return person


def _submit(researcher: User, cohort: Cohort, capture: Any, **purpose: Any) -> AccessRequest:
    from access.services import agreements_accept

    request = complete_draft(researcher, cohort.dataset, **purpose)
    agreements_accept(actor=researcher, request=request)
    with capture(execute=True):
        access_request_submit(actor=researcher, request=request)
    request.refresh_from_db()
    return request


def test_commercial_request_asks_about_commercial_use(
    researcher: User,
    cohort: Cohort,
    asker: Participant,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _submit(researcher, cohort, django_capture_on_commit_callbacks, commercial=True)

    question = ConsentQuestion.objects.get(participant=asker)
    assert question.choice_key == "commercial"
    assert question.request_title == "Variants in heart disease"
    assert question.status == QuestionStatus.PENDING
    assert RequestQuestion.objects.get(question=question).request == request
    breakdown = consent_breakdown(request, cohort.dataset)
    assert (breakdown.consenting, breakdown.excluded) == (6, {"ask_pending": 1, "narrower": 2})


def test_non_commercial_request_asks_nobody(
    researcher: User,
    cohort: Cohort,
    asker: Participant,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _submit(researcher, cohort, django_capture_on_commit_callbacks)

    assert not ConsentQuestion.objects.exists()
    assert consent_breakdown(request, cohort.dataset).consenting == 7


def test_yes_brings_the_sample_in_and_no_keeps_it_out(
    researcher: User,
    cohort: Cohort,
    asker: Participant,
    consent_version: ConsentVersion,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    second = participant_with(consent_version, {**ALL_YES, "commercial": "ask"})
    link_sample(cohort.dataset, second, "ASK-2")
    request = _submit(researcher, cohort, django_capture_on_commit_callbacks, commercial=True)

    consent_question_answer(
        actor=asker.user, question=ConsentQuestion.objects.get(participant=asker), answer="yes"
    )
    consent_question_answer(
        actor=second.user, question=ConsentQuestion.objects.get(participant=second), answer="no"
    )

    included = set(consenting_samples(request, cohort.dataset).values_list("sample_id", flat=True))
    assert "ASK-1" in included
    assert "ASK-2" not in included
    breakdown = consent_breakdown(request, cohort.dataset)
    assert (breakdown.consenting, breakdown.excluded) == (7, {"ask_pending": 1, "narrower": 2})


def test_a_later_change_of_consent_drops_the_earlier_yes(
    researcher: User,
    cohort: Cohort,
    asker: Participant,
    consent_version: ConsentVersion,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _submit(researcher, cohort, django_capture_on_commit_callbacks, commercial=True)
    consent_question_answer(
        actor=asker.user, question=ConsentQuestion.objects.get(participant=asker), answer="yes"
    )
    consent_record(
        actor=asker.user,
        participant=asker,
        version=consent_version,
        answers={**ALL_YES, "commercial": "ask", "health": "no"},
        signature=asker.user.full_name,
        channel=Channel.WEB,
        expected_sequence=1,
    )

    assert not consenting_samples(request, cohort.dataset).filter(sample_id="ASK-1").exists()


def test_returning_the_request_withdraws_its_pending_questions(
    researcher: User,
    cohort: Cohort,
    asker: Participant,
    agreement: Any,
    dac_chair: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from access.services import review_decide, vote_cast

    request = _submit(researcher, cohort, django_capture_on_commit_callbacks, commercial=True)
    review = request.reviews.get()
    for member in (dac_chair, dac_member):
        vote_cast(actor=member, review=review, choice="reject", rationale="Needs detail")

    review_decide(
        actor=dac_chair, review=review, decision="returned", comment="Explain the company"
    )

    question = ConsentQuestion.objects.get(participant=asker)
    assert question.status == QuestionStatus.WITHDRAWN
    assert question.closed_reason == "the request was returned for changes"


def test_an_under_review_request_cannot_be_withdrawn(
    researcher: User,
    cohort: Cohort,
    asker: Participant,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from portal.transitions import TransitionError

    request = _submit(researcher, cohort, django_capture_on_commit_callbacks, commercial=True)

    with pytest.raises(
        TransitionError, match="An access request that is under review cannot become withdrawn."
    ):
        access_request_withdraw(actor=researcher, request=request)
    assert ConsentQuestion.objects.get(participant=asker).status == QuestionStatus.PENDING
