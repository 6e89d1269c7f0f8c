""" "Ask me each time": raising a question, answering it once, withdrawing it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from consent.models import (
    Channel,
    ConsentQuestion,
    ConsentVersion,
    Participant,
    QuestionStatus,
    WithdrawalLevel,
)
from consent.services import (
    ConsentError,
    QuestionClosedError,
    consent_question_answer,
    consent_question_raise,
    consent_question_withdraw,
    consent_version_publish,
    consent_withdraw,
    proxy_link,
)
from portal.ledger import ledger_seal, ledger_tree_verify
from portal.models import AuditEvent, Role, User
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version
from tests.factories import UserFactory

ASKS = {**ALL_YES, "ancestry": "ask", "commercial": "ask"}


def _raise(participant: Participant, key: str = "ancestry", **changes: Any) -> ConsentQuestion:
    arguments: dict[str, Any] = {
        "actor": None,
        "participant": participant,
        "choice_key": key,
        "title": "Origins of the Welsh population",
        "summary": "Compares the genomes of people from Wales with other populations.",
        "institution": "Cardiff University",
        **changes,
    }
    return consent_question_raise(**arguments)


@pytest.fixture
def asks(enrolled: Participant, version: ConsentVersion) -> Participant:
    give(enrolled, version, ASKS)
    return enrolled


def test_raise_stores_the_choice_wording_and_what_is_asked(asks: Participant) -> None:
    question = _raise(asks)

    question.refresh_from_db()
    assert question.participant == asks
    assert question.choice_key == "ancestry"
    assert question.choice_question == "May your data be used for ancestry research?"
    assert question.version == asks.current_consent.version
    assert question.request_title == "Origins of the Welsh population"
    assert question.request_institution == "Cardiff University"
    assert question.status == QuestionStatus.PENDING
    assert (question.answer, question.answered_at, question.answered_by) == ("", None, None)


def test_raise_is_audited_and_emails_the_participant_after_commit(
    asks: Participant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        question = _raise(asks)

    event = AuditEvent.objects.get(action="consent_question.raise")
    assert event.object_id == str(question.pk)
    assert event.after == {
        "participant": asks.study_id,
        "choice": "ancestry",
        "request": "Origins of the Welsh population",
        "institution": "Cardiff University",
    }
    assert [m.to for m in mail.outbox] == [["participant@example.org"]]
    assert mail.outbox[0].subject == "A request to use your data: please decide"
    assert "May your data be used for ancestry research?" in mail.outbox[0].body
    assert "/consent/questions/" in mail.outbox[0].body


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_raise_refuses_a_choice_not_answered_ask(
    enrolled: Participant, version: ConsentVersion, answer: str
) -> None:
    give(enrolled, version, {**ASKS, "ancestry": answer})

    with pytest.raises(ConsentError) as caught:
        _raise(enrolled)

    label = "Yes" if answer == "yes" else "No"
    assert caught.value.message == (
        f"{enrolled.study_id} answered “{label}” to ancestry, not “ask me each time”: there is "
        "nothing to ask."
    )
    assert caught.value.code == "not_ask"
    assert ConsentQuestion.objects.count() == 0


def test_raise_refuses_an_unknown_choice(asks: Participant) -> None:
    with pytest.raises(ConsentError, match="has no choice 'storage'"):
        _raise(asks, key="storage")


def test_raise_refuses_a_participant_without_consent(enrolled: Participant) -> None:
    with pytest.raises(ConsentError, match="has not given consent: there is nothing to ask."):
        _raise(enrolled)


def test_raise_refuses_a_withdrawn_participant(asks: Participant) -> None:
    consent_withdraw(
        actor=asks.user,
        participant=asks,
        level=WithdrawalLevel.NO_CONTACT,
        signature=asks.user.full_name,
        channel=Channel.WEB,
        expected_sequence=1,
    )

    with pytest.raises(ConsentError, match=r"has withdrawn \(withdrawn: no further contact\)"):
        _raise(asks)


def test_raise_refuses_a_suspended_participant(
    steward: User, asks: Participant, version: ConsentVersion
) -> None:
    changed = [{**c, "allowed_answers": ["yes", "no", "ask"]} for c in CHOICES]
    newer = make_version(steward, number=2, document=version.document, choices=changed)
    consent_version_publish(actor=steward, version=newer, suspends_previous=True)

    with pytest.raises(ConsentError, match="is suspended until they review the new version"):
        _raise(asks)


def test_raise_needs_title_summary_and_institution(asks: Participant) -> None:
    with pytest.raises(ConsentError, match="A question needs the request's institution."):
        _raise(asks, institution="  ")


def test_answer_records_who_answered_and_when(asks: Participant) -> None:
    question = _raise(asks)

    consent_question_answer(actor=asks.user, question=question, answer="yes")

    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED
    assert question.answer == "yes"
    assert question.answered_by == asks.user
    assert question.answered_at is not None
    event = AuditEvent.objects.get(action="consentquestion.answered")
    assert event.actor == asks.user
    assert event.after == {"status": "answered", "reason": "answered yes"}
    assert ledger_seal().tree_size == AuditEvent.objects.count()
    assert ledger_tree_verify().problem is None


def test_answering_twice_is_refused(asks: Participant) -> None:
    question = _raise(asks)
    consent_question_answer(actor=asks.user, question=question, answer="no")

    with pytest.raises(QuestionClosedError) as caught:
        consent_question_answer(actor=asks.user, question=question, answer="yes")

    today = timezone.localdate()
    assert caught.value.message == (
        f"This question was already answered on {today:%-d %B %Y}: no. An answer cannot be changed."
    )
    assert caught.value.http_status == 409
    question.refresh_from_db()
    assert question.answer == "no"


def test_answer_must_be_yes_or_no(asks: Participant) -> None:
    question = _raise(asks)

    with pytest.raises(ConsentError, match="Answer yes or no."):
        consent_question_answer(actor=asks.user, question=question, answer="ask")


def test_another_person_cannot_answer(asks: Participant, other_participant: User) -> None:
    question = _raise(asks)

    with pytest.raises(ConsentError, match="Only the participant or their proxy can answer."):
        consent_question_answer(actor=other_participant, question=question, answer="yes")
    question.refresh_from_db()
    assert question.status == QuestionStatus.PENDING


def test_a_proxy_answers_for_a_child_and_is_emailed_too(
    steward: User, asks: Participant, django_capture_on_commit_callbacks: Any
) -> None:
    asks.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 10)
    asks.save()
    guardian = UserFactory(email="gwen@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(actor=steward, participant=asks, email=guardian.email, full_name="Gwen Guardian")

    with django_capture_on_commit_callbacks(execute=True):
        question = _raise(asks)
    consent_question_answer(actor=guardian, proxy=guardian, question=question, answer="yes")

    assert sorted(m.to[0] for m in mail.outbox) == ["gwen@example.org", "participant@example.org"]
    guardian_mail = next(m for m in mail.outbox if m.to == ["gwen@example.org"])
    assert guardian_mail.subject == "A request to use Pat's data: please decide"
    assert (
        f"You act as Pat's guardian. Pat Participant (study ID {asks.study_id}) answered"
        in guardian_mail.body
    )
    question.refresh_from_db()
    assert question.answered_by == guardian
    assert AuditEvent.objects.get(action="consentquestion.answered").after["reason"] == (
        "answered yes by a proxy"
    )


def test_a_proxy_without_authority_cannot_answer(asks: Participant) -> None:
    stranger = UserFactory(email="stranger@example.org", role=Role.PROXY)
    question = _raise(asks)

    with pytest.raises(ConsentError, match="You do not act for"):
        consent_question_answer(actor=stranger, proxy=stranger, question=question, answer="yes")


def test_withdraw_closes_a_pending_question_once(asks: Participant) -> None:
    question = _raise(asks)

    consent_question_withdraw(question=question, reason="the request was withdrawn")
    consent_question_withdraw(question=question, reason="again")

    question.refresh_from_db()
    assert question.status == QuestionStatus.WITHDRAWN
    assert question.closed_reason == "the request was withdrawn"
    assert AuditEvent.objects.filter(action="consentquestion.withdrawn").count() == 1
    with pytest.raises(QuestionClosedError, match="no longer needs an answer: the request was"):
        consent_question_answer(actor=asks.user, question=question, answer="yes")


def test_changing_the_answer_from_ask_withdraws_its_pending_questions(
    asks: Participant, version: ConsentVersion
) -> None:
    ancestry = _raise(asks)
    commercial = _raise(asks, key="commercial")

    give(asks, version, {**ASKS, "ancestry": "no"}, sequence=1)

    ancestry.refresh_from_db()
    commercial.refresh_from_db()
    assert ancestry.status == QuestionStatus.WITHDRAWN
    assert ancestry.closed_reason == "you changed your answer to this choice"
    assert commercial.status == QuestionStatus.PENDING


def test_withdrawing_consent_withdraws_every_pending_question(asks: Participant) -> None:
    _raise(asks)
    _raise(asks, key="commercial")

    consent_withdraw(
        actor=asks.user,
        participant=asks,
        level=WithdrawalLevel.NO_CONTACT,
        signature=asks.user.full_name,
        channel=Channel.WEB,
        expected_sequence=1,
    )

    assert set(ConsentQuestion.objects.values_list("status", "closed_reason")) == {
        (QuestionStatus.WITHDRAWN, "you withdrew from the study")
    }


def test_a_change_that_keeps_ask_leaves_questions_pending(
    asks: Participant, version: ConsentVersion
) -> None:
    question = _raise(asks)

    give(asks, version, {**ASKS, "general": "no"}, sequence=1)

    question.refresh_from_db()
    assert question.status == QuestionStatus.PENDING
