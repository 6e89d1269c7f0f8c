"""The review page's counts: every reason a sample is out, each counted once, and a count
that follows the next write (the cache never serves a count older than it)."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest
from access.selectors.consented import consent_breakdown, consenting_samples
from access.services import access_request_submit
from consent.models import Channel, ConsentVersion, CurrentConsent, WithdrawalLevel
from consent.services import consent_withdraw
from datasets.models import Committee
from tests.access.conftest import Cohort, link_sample, participant_with
from tests.consent.conftest import ALL_YES
from tests.factories import ParticipantFactory


@pytest.fixture
def mixed(cohort: Cohort, consent_version: ConsentVersion, community: Committee) -> Cohort:
    """Beside the six consenting and two refusing: one of each other reason to be out."""
    link_sample(cohort.dataset, None, "UNLINKED")
    link_sample(
        cohort.dataset, participant_with(consent_version, ALL_YES), "NATION", community=community
    )
    link_sample(cohort.dataset, ParticipantFactory(), "NEVER-CONSENTED")
    gone = participant_with(consent_version, ALL_YES)
    consent_withdraw(
        actor=gone.user,
        participant=gone,
        level=WithdrawalLevel.NO_USE,
        signature=gone.user.full_name,
        channel=Channel.WEB,
        expected_sequence=1,
    )
    link_sample(cohort.dataset, gone, "WITHDRAWN")
    paused = participant_with(consent_version, ALL_YES)
    CurrentConsent.objects.filter(participant=paused).update(suspended=True)
    link_sample(cohort.dataset, paused, "SUSPENDED")
    link_sample(
        cohort.dataset, participant_with(consent_version, {**ALL_YES, "commercial": "ask"}), "ASKS"
    )
    return cohort


@pytest.fixture
def submitted(
    mixed: Cohort, draft: AccessRequest, researcher: Any, django_capture_on_commit_callbacks: Any
) -> AccessRequest:
    from access.services import access_request_update

    access_request_update(actor=researcher, request=draft, commercial=True)
    with django_capture_on_commit_callbacks(execute=True):
        access_request_submit(actor=researcher, request=draft)
    draft.refresh_from_db()
    return draft


def test_every_reason_to_be_out_is_counted_once(submitted: AccessRequest, mixed: Cohort) -> None:
    breakdown = consent_breakdown(submitted, mixed.dataset)

    assert (breakdown.total, breakdown.consenting) == (14, 6)
    assert breakdown.excluded == {
        "unlinked": 1,
        "community": 1,
        "no_consent": 1,
        "withdrawn": 1,
        "suspended": 1,
        "ask_pending": 1,
        "narrower": 2,
    }
    assert breakdown.excluded_rows == [
        ("not linked to a participant (never delivered)", "fewer than 5"),
        ("community approval pending", "fewer than 5"),
        ("no consent recorded", "fewer than 5"),
        ("withdrawn (no further use)", "fewer than 5"),
        ("consent suspended until the participant reviews a new version", "fewer than 5"),
        ("“ask me each time”: not answered yes yet", "fewer than 5"),
        ("consent does not cover this purpose", "fewer than 5"),
    ]
    assert breakdown.consenting_display == "6"


def test_the_breakdown_agrees_with_the_samples_delivery_would_use(
    submitted: AccessRequest, mixed: Cohort
) -> None:
    samples = consenting_samples(submitted, mixed.dataset)

    assert sorted(samples.values_list("sample_id", flat=True)) == [f"S{n:03d}" for n in range(6)]


def test_a_withdrawal_shows_in_the_next_count(submitted: AccessRequest, mixed: Cohort) -> None:
    assert consent_breakdown(submitted, mixed.dataset).consenting == 6
    leaving = mixed.consenting[0]

    consent_withdraw(
        actor=leaving.user,
        participant=leaving,
        level=WithdrawalLevel.NO_USE,
        signature=leaving.user.full_name,
        channel=Channel.WEB,
        expected_sequence=1,
    )

    again = consent_breakdown(submitted, mixed.dataset)
    assert (again.consenting, again.excluded["withdrawn"]) == (5, 2)


def test_small_counts_are_not_shown(submitted: AccessRequest, mixed: Cohort) -> None:
    for person in mixed.consenting[:2]:
        consent_withdraw(
            actor=person.user,
            participant=person,
            level=WithdrawalLevel.NO_USE,
            signature=person.user.full_name,
            channel=Channel.WEB,
            expected_sequence=1,
        )

    breakdown = consent_breakdown(submitted, mixed.dataset)

    assert (breakdown.consenting, breakdown.consenting_display) == (4, "fewer than 5")
    assert breakdown.suppressed
