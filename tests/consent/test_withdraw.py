from __future__ import annotations

import pytest

from consent.models import (
    Channel,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    RecordKind,
    WithdrawalLevel,
)
from consent.services import ConsentError, consent_withdraw
from tests.consent.conftest import ALL_YES, give


def withdraw(participant: Participant, level: WithdrawalLevel, sequence: int):  # type: ignore[no-untyped-def]
    return consent_withdraw(
        actor=participant.user,
        participant=participant,
        level=level,
        signature=participant.user.full_name,
        channel=Channel.WEB,
        expected_sequence=sequence,
    )


@pytest.mark.parametrize("level", list(WithdrawalLevel))
def test_withdrawal_at_each_level_keeps_choices_and_sets_status(
    enrolled: Participant, version: ConsentVersion, level: WithdrawalLevel
) -> None:
    give(enrolled, version)

    record = withdraw(enrolled, level, 1)

    assert record.kind == RecordKind.WITHDRAWAL
    assert record.withdrawal_level == level
    assert record.answers == dict(sorted(ALL_YES.items()))
    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.status == ConsentStatus(level)
    assert current.releasable is (level != WithdrawalLevel.NO_USE)


def test_withdrawal_can_go_further(enrolled: Participant, version: ConsentVersion) -> None:
    give(enrolled, version)
    withdraw(enrolled, WithdrawalLevel.NO_CONTACT, 1)

    withdraw(enrolled, WithdrawalLevel.NO_USE, 2)

    assert CurrentConsent.objects.get(participant=enrolled).status == ConsentStatus.NO_USE


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (WithdrawalLevel.NO_ACCESS, WithdrawalLevel.NO_ACCESS),
        (WithdrawalLevel.NO_USE, WithdrawalLevel.NO_USE),
        (WithdrawalLevel.NO_USE, WithdrawalLevel.NO_CONTACT),
        (WithdrawalLevel.NO_ACCESS, WithdrawalLevel.NO_CONTACT),
    ],
)
def test_withdrawing_twice_or_backwards_is_refused(
    enrolled: Participant, version: ConsentVersion, first: WithdrawalLevel, second: WithdrawalLevel
) -> None:
    give(enrolled, version)
    withdraw(enrolled, first, 1)

    with pytest.raises(ConsentError, match="You have already withdrawn") as error:
        withdraw(enrolled, second, 2)

    assert error.value.code == "already_withdrawn"
    assert enrolled.records.count() == 2


def test_withdrawal_without_consent_is_refused(enrolled: Participant) -> None:
    with pytest.raises(ConsentError, match="no consent to withdraw"):
        withdraw(enrolled, WithdrawalLevel.NO_USE, 0)


def test_choices_cannot_change_after_withdrawal(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    withdraw(enrolled, WithdrawalLevel.NO_CONTACT, 1)

    with pytest.raises(ConsentError, match="You have withdrawn"):
        give(enrolled, version, {**ALL_YES, "general": "no"}, sequence=2)
