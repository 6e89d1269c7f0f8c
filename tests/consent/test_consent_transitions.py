"""The consent status table: every (from, to) pair, allowed and refused, through the
withdrawal service, the levels the withdrawal page offers and the dashboard's link."""

from __future__ import annotations

import itertools

import pytest

from consent.models import (
    Channel,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    WithdrawalLevel,
)
from consent.selectors import consent_overview
from consent.services import ConsentError, consent_withdraw
from consent.transitions import CONSENT_TRANSITIONS, withdrawal_levels_open
from tests.consent.conftest import give

# Written out: a withdrawal only goes further (contact < access < use), never back.
ALLOWED = {
    (ConsentStatus.ACTIVE, ConsentStatus.NO_CONTACT),
    (ConsentStatus.ACTIVE, ConsentStatus.NO_ACCESS),
    (ConsentStatus.ACTIVE, ConsentStatus.NO_USE),
    (ConsentStatus.NO_CONTACT, ConsentStatus.NO_ACCESS),
    (ConsentStatus.NO_CONTACT, ConsentStatus.NO_USE),
    (ConsentStatus.NO_ACCESS, ConsentStatus.NO_USE),
}
OFFERED = {
    ConsentStatus.ACTIVE: ["no_contact", "no_access", "no_use"],
    ConsentStatus.NO_CONTACT: ["no_access", "no_use"],
    ConsentStatus.NO_ACCESS: ["no_use"],
    ConsentStatus.NO_USE: [],
}


def test_consent_transition_table_is_as_documented() -> None:
    pairs = {(start, to) for start, targets in CONSENT_TRANSITIONS.items() for to in targets}

    assert pairs == ALLOWED
    assert set(CONSENT_TRANSITIONS) == set(ConsentStatus)


def _withdraw(participant: Participant, level: str, sequence: int) -> None:
    consent_withdraw(
        actor=participant.user,
        participant=participant,
        level=WithdrawalLevel(level),
        signature=participant.user.full_name,
        channel=Channel.WEB,
        expected_sequence=sequence,
    )


def _consent_in(participant: Participant, version: ConsentVersion, status: str) -> None:
    give(participant, version)
    if status != ConsentStatus.ACTIVE:
        _withdraw(participant, status, 1)


@pytest.mark.parametrize("status", list(ConsentStatus))
def test_levels_offered_and_the_withdraw_link(
    enrolled: Participant, version: ConsentVersion, status: ConsentStatus
) -> None:
    _consent_in(enrolled, version, status)

    overview = consent_overview(enrolled)

    assert withdrawal_levels_open(status) == OFFERED[status]
    assert overview.can_withdraw is bool(OFFERED[status])


@pytest.mark.parametrize(
    ("start", "level"), list(itertools.product(ConsentStatus, WithdrawalLevel))
)
def test_withdrawal_service_follows_the_table(
    enrolled: Participant, version: ConsentVersion, start: ConsentStatus, level: WithdrawalLevel
) -> None:
    _consent_in(enrolled, version, start)
    sequence = enrolled.records.count()

    if (start, ConsentStatus(level)) in ALLOWED:
        _withdraw(enrolled, level, sequence)
        assert CurrentConsent.objects.get(participant=enrolled).status == level
    else:
        with pytest.raises(ConsentError) as error:
            _withdraw(enrolled, level, sequence)
        assert error.value.code == "already_withdrawn"
        assert CurrentConsent.objects.get(participant=enrolled).status == start
