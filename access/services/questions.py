"""'Ask me each time': questions to participants when a request reaches review.

A participant is asked when their consent would permit the request's purpose if they said
yes to the choices they answered "ask me each time". Until they answer yes to every
question raised for the request (on the consent they still hold), their samples count as
not consenting; see access.selectors.consented.
"""

from __future__ import annotations

from itertools import combinations

from django.db.models import Q

from access.models import AccessRequest, RequestQuestion
from access.selectors.consented import consent_purposes, consenting_consent_q
from consent.duo import InvalidPurposeError, PrimaryUse, ResearchPurpose, UnknownDiseaseError, match
from consent.meanings import consent_terms
from consent.models import (
    Answer,
    ChoiceMeaning,
    ConsentChoice,
    ConsentQuestion,
    ConsentStatus,
    CurrentConsent,
    QuestionStatus,
)
from consent.services import consent_question_raise, consent_question_withdraw
from datasets.models import LinkStatus, Sample

# Choices whose meaning bears on data use (the others are never asked about here).
DATA_USE_MEANINGS = frozenset(
    {
        ChoiceMeaning.GENERAL_RESEARCH,
        ChoiceMeaning.HEALTH_RESEARCH,
        ChoiceMeaning.ANCESTRY_RESEARCH,
        ChoiceMeaning.COMMERCIAL_USE,
        ChoiceMeaning.INTERNATIONAL_USE,
    }
)
# The narrowest permission choice whose "yes" lets each primary use in.
_PERMISSION_MEANING = {
    PrimaryUse.GRU: ChoiceMeaning.GENERAL_RESEARCH,
    PrimaryUse.HMB: ChoiceMeaning.HEALTH_RESEARCH,
    PrimaryUse.DS: ChoiceMeaning.HEALTH_RESEARCH,
    PrimaryUse.POA: ChoiceMeaning.ANCESTRY_RESEARCH,
}


def _approved(
    meanings: dict[str, str], answers: dict[str, str], country: str, purposes: list[ResearchPurpose]
) -> bool:
    terms = consent_terms(meanings, answers, country=country)
    conditions = terms.as_conditions()
    return all(any(match(p, c).approved for c in conditions) for p in purposes)


def _keys_to_ask(
    meanings: dict[str, str], answers: dict[str, str], country: str, purposes: list[ResearchPurpose]
) -> list[str]:
    """The fewest "ask" choices whose yes would let the participant in ([] if none would).

    At most five choices bear on data use, so trying every subset, smallest first, is cheap;
    among equals the narrowest permission (health research for an HMB purpose) is asked.
    """
    asks = sorted(
        key
        for key, answer in answers.items()
        if answer == Answer.ASK and meanings.get(key) in DATA_USE_MEANINGS
    )
    narrowest = {m: k for k, m in meanings.items()}.get(_PERMISSION_MEANING[purposes[0].primary])
    for size in range(1, len(asks) + 1):
        for subset in sorted(combinations(asks, size), key=lambda keys: narrowest not in keys):
            if _approved(
                meanings, {**answers, **dict.fromkeys(subset, Answer.YES)}, country, purposes
            ):
                return list(subset)
    return []


def request_questions_raise(*, request: AccessRequest) -> int:
    """Raise the questions for the request's datasets; returns how many were raised.

    Candidates come from the database: linked samples of the request's datasets whose
    participant's consent is active, not suspended, not already permitting the purpose,
    and holds at least one "ask" answer. Each is then checked with the matcher.
    """
    try:
        purposes = consent_purposes(request)
    except (InvalidPurposeError, UnknownDiseaseError):
        return 0
    participant_ids = Sample.objects.filter(
        dataset__in=request.datasets.all(), link=LinkStatus.LINKED
    ).values("participant_id")
    ask_keys = ConsentChoice.objects.filter(meaning__in=DATA_USE_MEANINGS).values_list(
        "key", flat=True
    )
    has_ask = Q()
    for key in set(ask_keys):
        has_ask |= Q(**{f"answers__{key}": Answer.ASK})
    if not has_ask:
        return 0
    candidates = (
        CurrentConsent.objects.filter(
            participant_id__in=participant_ids, status=ConsentStatus.ACTIVE, suspended=False
        )
        .exclude(consenting_consent_q(request))
        .filter(has_ask)
        .select_related("participant")
    )
    already = set(
        RequestQuestion.objects.filter(request=request).values_list(
            "participant_id", "question__choice_key"
        )
    )
    meanings_by_version: dict[int, dict[str, str]] = {}
    raised = 0
    for current in candidates.iterator(chunk_size=500):
        meanings = meanings_by_version.get(current.version_id)
        if meanings is None:
            meanings = dict(
                ConsentChoice.objects.filter(version_id=current.version_id).values_list(
                    "key", "meaning"
                )
            )
            meanings_by_version[current.version_id] = meanings
        keys = _keys_to_ask(meanings, current.answers, current.country, purposes)
        for key in keys:
            if (current.participant_id, key) in already:
                continue
            question = consent_question_raise(
                actor=None,
                participant=current.participant,
                choice_key=key,
                title=request.title,
                summary=request.lay_summary,
                institution=request.institution,
            )
            RequestQuestion.objects.create(
                request=request,
                question=question,
                participant=current.participant,
                consent_sequence=current.sequence,
            )
            raised += 1
    return raised


def request_questions_withdraw(*, request: AccessRequest, reason: str) -> int:
    """Withdraw the request's pending questions (the request was withdrawn or returned)."""
    pending = ConsentQuestion.objects.filter(
        access_request_link__request=request, status=QuestionStatus.PENDING
    )
    count = 0
    for question in pending:
        consent_question_withdraw(question=question, reason=reason)
        count += 1
    return count
