"""The SQL cohort (projection + cohort_q) equals the matcher, participant by participant."""

from __future__ import annotations

import itertools

import pytest

from consent.duo import Outcome, PrimaryUse, ResearchPurpose, match
from consent.meanings import cohort_q, consent_terms
from consent.models import ConsentVersion, CurrentConsent, Participant, WithdrawalLevel
from consent.services import consent_withdraw
from tests.consent.conftest import CHOICES, give
from tests.factories import ParticipantFactory

KEYS = ["general", "health", "ancestry", "commercial", "abroad"]
PURPOSES = [
    ResearchPurpose(primary=PrimaryUse.GRU),
    ResearchPurpose(primary=PrimaryUse.HMB),
    ResearchPurpose(primary=PrimaryUse.HMB, commercial=True),
    ResearchPurpose(primary=PrimaryUse.HMB, country="GB"),
    ResearchPurpose(primary=PrimaryUse.HMB, country="US", for_profit_organisation=True),
    ResearchPurpose(primary=PrimaryUse.POA, country="GB"),
    ResearchPurpose(primary=PrimaryUse.GRU, country="FR"),
    ResearchPurpose(primary=PrimaryUse.HMB, country="GB", pediatric=True),
]


def _matcher_approves(purpose: ResearchPurpose, answers: dict[str, str]) -> bool:
    meanings = {c["key"]: c["meaning"] for c in CHOICES}
    terms = consent_terms(meanings, answers, country="GB")
    return any(match(purpose, c).outcome == Outcome.APPROVE for c in terms.as_conditions())


@pytest.fixture
def population(version: ConsentVersion) -> dict[int, dict[str, str]]:
    """One participant per combination of yes/no answers to the five DUO choices."""
    answers_by_participant = {}
    for values in itertools.product(["yes", "no"], repeat=len(KEYS)):
        participant = ParticipantFactory()
        answers = {**dict(zip(KEYS, values, strict=True)), "recontact": "yes"}
        give(participant, version, answers)
        answers_by_participant[participant.pk] = answers
    return answers_by_participant


@pytest.mark.parametrize("purpose", PURPOSES, ids=repr)
def test_cohort_query_equals_matcher(
    population: dict[int, dict[str, str]], purpose: ResearchPurpose
) -> None:
    expected = {pk for pk, answers in population.items() if _matcher_approves(purpose, answers)}

    cohort = set(
        CurrentConsent.objects.filter(cohort_q(purpose)).values_list("participant_id", flat=True)
    )

    assert cohort == expected
    if not purpose.sensitive_areas:
        assert cohort, "every non-sensitive purpose has some consenting participant here"


def test_withdrawn_from_use_leave_the_cohort(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    purpose = ResearchPurpose(primary=PrimaryUse.HMB, country="GB")
    assert CurrentConsent.objects.filter(cohort_q(purpose)).count() == 1

    consent_withdraw(
        actor=enrolled.user,
        participant=enrolled,
        level=WithdrawalLevel.NO_USE,
        signature=enrolled.user.full_name,
        channel="web",
        expected_sequence=1,
    )

    assert CurrentConsent.objects.filter(cohort_q(purpose)).count() == 0


@pytest.mark.parametrize("purpose", PURPOSES, ids=repr)
def test_cohort_ids_returns_the_cohort_in_id_order(
    population: dict[int, dict[str, str]], purpose: ResearchPurpose
) -> None:
    from consent.selectors import cohort_ids

    expected = list(
        CurrentConsent.objects.filter(cohort_q(purpose))
        .order_by("participant_id")
        .values_list("participant_id", flat=True)
    )

    assert cohort_ids(purpose) == expected


def test_cohort_ids_of_an_empty_projection(db: None) -> None:
    from consent.selectors import cohort_ids

    assert cohort_ids(ResearchPurpose(primary=PrimaryUse.HMB)) == []
