"""The question status table: every (from, to) pair, allowed and refused."""

from __future__ import annotations

import itertools

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import ConsentQuestion, ConsentVersion, Participant, QuestionStatus
from consent.transitions import QUESTION_TRANSITIONS
from portal.models import User
from portal.transitions import TransitionError, transition
from tests.consent.conftest import ALL_YES, give

ALLOWED = {
    (QuestionStatus.PENDING, QuestionStatus.ANSWERED),
    (QuestionStatus.PENDING, QuestionStatus.WITHDRAWN),
}


def test_question_transition_table_is_as_documented() -> None:
    pairs = {(start, to) for start, targets in QUESTION_TRANSITIONS.items() for to in targets}

    assert pairs == ALLOWED
    assert set(QUESTION_TRANSITIONS) == set(QuestionStatus)


@pytest.mark.parametrize(("start", "to"), list(itertools.product(QuestionStatus, QuestionStatus)))
def test_question_transition(
    enrolled: Participant, version: ConsentVersion, start: QuestionStatus, to: QuestionStatus
) -> None:
    give(enrolled, version, {**ALL_YES, "ancestry": "ask"})
    answered = start == QuestionStatus.ANSWERED
    question = ConsentQuestion.objects.create(
        participant=enrolled,
        version=version,
        choice_key="ancestry",
        choice_question="May your data be used for ancestry research?",
        request_title="A study",
        request_summary="About ancestry.",
        request_institution="A university",
        status=start,
        answer="yes" if answered else "",
        answered_at=timezone.now() if answered else None,
        answered_by=enrolled.user if answered else None,
    )
    user: User = enrolled.user
    extra = (
        {"answer": "no", "answered_at": timezone.now(), "answered_by": user}
        if to == QuestionStatus.ANSWERED
        else {}
    )

    if (start, to) in ALLOWED:
        transition(question, to, table=QUESTION_TRANSITIONS, actor=user, extra=extra)
        question.refresh_from_db()
        assert question.status == to
    else:
        with pytest.raises(TransitionError, match=f"cannot become {to.value}"):
            transition(question, to, table=QUESTION_TRANSITIONS, actor=user, extra=extra)
        question.refresh_from_db()
        assert question.status == start


@pytest.mark.parametrize(
    "fields",
    [
        {"status": QuestionStatus.ANSWERED, "answer": ""},
        {"status": QuestionStatus.PENDING, "answer": "yes"},
        {"status": QuestionStatus.WITHDRAWN, "answer": "no"},
    ],
)
def test_question_answer_exists_exactly_when_answered(
    enrolled: Participant, version: ConsentVersion, fields: dict[str, str]
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentQuestion.objects.create(
            participant=enrolled,
            version=version,
            choice_key="ancestry",
            choice_question="?",
            request_title="A study",
            request_summary="About ancestry.",
            request_institution="A university",
            answered_at=timezone.now(),
            answered_by=enrolled.user,
            **fields,
        )
