"""Questions to participants who chose "ask me each time": raise, answer, withdraw.

The access app raises a question when a data-access request would use such a choice; the
participant (or their proxy) answers yes or no once. A question that no longer applies is
withdrawn by the portal, never deleted.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.languages import person_language
from consent.models import (
    Answer,
    ConsentChoice,
    ConsentQuestion,
    ConsentStatus,
    CurrentConsent,
    Participant,
    QuestionStatus,
)
from consent.services.actions import ConsentActions
from consent.services.errors import ConsentError
from consent.services.participants import check_proxy_authority
from consent.transitions import QUESTION_TRANSITIONS
from portal.audit import audit_log
from portal.exceptions import StaleStateError
from portal.models import User
from portal.services import email_queue
from portal.transitions import transition


class QuestionClosedError(StaleStateError):
    """The question was answered or withdrawn since the page was loaded."""

    code = "question_closed"


def _required(value: str, what: str) -> str:
    if not value.strip():
        raise ConsentError(f"A question needs the request's {what}.", code="invalid")
    return value.strip()


def consent_question_raise(
    *,
    actor: User | None,
    participant: Participant,
    choice_key: str,
    title: str,
    summary: str,
    institution: str,
) -> ConsentQuestion:
    """Ask a participant whose answer to `choice_key` is "ask me each time" about one use.

    1. lock the participant, so a change of their consent waits or goes first; 2. refuse
    unless their consent is active, not suspended, and their answer now is "ask"; 3. store
    the question with the wording of the choice they answered, audit, and email them (and
    any proxy acting for them) after commit.
    """
    title = _required(title, "title")
    summary = _required(summary, "summary")
    institution = _required(institution, "institution")
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update().select_related("user").get(pk=participant.pk)
        )
        current = CurrentConsent.objects.filter(participant=participant).first()
        name = participant.study_id
        if current is None:
            raise ConsentError(
                f"{name} has not given consent: there is nothing to ask.", code="no_consent"
            )
        if current.status != ConsentStatus.ACTIVE:
            raise ConsentError(
                f"{name} has withdrawn ({current.get_status_display().lower()}): "
                "they are not asked.",
                code="withdrawn",
            )
        if current.suspended:
            raise ConsentError(
                f"The consent of {name} is suspended until they review the new version: "
                "ask them after they have.",
                code="suspended",
            )
        answer = current.answers.get(choice_key)
        if answer is None:
            raise ConsentError(
                f"The consent form {name} signed has no choice {choice_key!r}.",
                code="unknown_choice",
            )
        if answer != Answer.ASK:
            raise ConsentError(
                f"{name} answered “{Answer(answer).label}” to {choice_key}, not “ask me each "
                "time”: there is nothing to ask.",
                code="not_ask",
            )
        choice = ConsentChoice.objects.get(version_id=current.version_id, key=choice_key)
        question = ConsentQuestion.objects.create(
            participant=participant,
            version_id=current.version_id,
            choice_key=choice_key,
            choice_question=choice.question,
            request_title=title,
            request_summary=summary,
            request_institution=institution,
        )
        audit_log(
            actor=actor,
            action=ConsentActions.QUESTION_RAISE,
            target=question,
            after={
                "participant": name,
                "choice": choice_key,
                "request": title,
                "institution": institution,
            },
        )
        proxies = participant.proxies.filter(ended_at__isnull=True).select_related("proxy")
        for person in [participant.user, *(link.proxy for link in proxies)]:
            email_queue(
                to=person.email,
                language=person_language(person),
                template="consent/email/question.txt",
                context={
                    "user": person,
                    "participant": participant,
                    "question": question,
                    "path": reverse("consent:questions"),
                },
            )
    return question


def consent_question_answer(
    *, actor: User, question: ConsentQuestion, answer: str, proxy: User | None = None
) -> ConsentQuestion:
    """The participant's (or their proxy's) yes or no, given once.

    1. lock the question; 2. refuse another person, a proxy whose authority ended, and a
    question already answered or withdrawn; 3. record the answer and who gave it (the
    transition writes the audit entry).
    """
    if answer not in {Answer.YES, Answer.NO}:
        raise ConsentError(_("Answer yes or no."), code="invalid")
    with transaction.atomic(durable=True):
        question = (
            ConsentQuestion.objects.select_for_update()
            .select_related("participant__user")
            .get(pk=question.pk)
        )
        participant = question.participant
        if proxy is not None:
            check_proxy_authority(participant, proxy)
        elif actor.pk != participant.user_id:
            raise ConsentError(
                _("Only the participant or their proxy can answer."), code="not_yours"
            )
        if question.status == QuestionStatus.ANSWERED:
            raise QuestionClosedError(
                _(
                    "This question was already answered on %(date)s: %(answer)s. An answer "
                    "cannot be changed."
                )
                % {
                    "date": date_format(timezone.localtime(question.answered_at), "j F Y"),
                    "answer": question.get_answer_display().lower(),
                },
            )
        if question.status == QuestionStatus.WITHDRAWN:
            raise QuestionClosedError(
                _("This question no longer needs an answer: %(reason)s.")
                % {"reason": _(question.closed_reason)}
            )
        transition(
            question,
            QuestionStatus.ANSWERED,
            table=QUESTION_TRANSITIONS,
            actor=actor,
            reason=f"answered {answer}" + (" by a proxy" if proxy is not None else ""),
            extra={"answer": answer, "answered_at": timezone.now(), "answered_by": actor},
        )
    return question


def consent_question_withdraw(*, question: ConsentQuestion, reason: str) -> ConsentQuestion:
    """The portal withdraws a pending question that no longer applies (a rerun does nothing)."""
    with transaction.atomic():
        question = ConsentQuestion.objects.select_for_update().get(pk=question.pk)
        if question.status != QuestionStatus.PENDING:
            return question
        transition(
            question,
            QuestionStatus.WITHDRAWN,
            table=QUESTION_TRANSITIONS,
            actor=None,
            reason=reason,
            extra={"closed_reason": reason},
        )
    return question


def consent_questions_withdraw_obsolete(
    *, participant: Participant, before: Mapping[str, str], after: Mapping[str, str]
) -> int:
    """Withdraw pending questions about choices no longer answered "ask" (`after` is empty
    when the participant withdrew). Called inside the consent write's transaction.

    Returns how many were withdrawn; costs no query when no "ask" answer went away.
    """
    gone = sorted(k for k, v in before.items() if v == Answer.ASK and after.get(k) != Answer.ASK)
    if not gone:
        return 0
    reason = (
        gettext_noop("you withdrew from the study")
        if not after
        else gettext_noop("you changed your answer to this choice")
    )
    pending = ConsentQuestion.objects.filter(
        participant=participant, choice_key__in=gone, status=QuestionStatus.PENDING
    )
    withdrawn = 0
    for question in pending:
        consent_question_withdraw(question=question, reason=reason)
        withdrawn += 1
    return withdrawn
