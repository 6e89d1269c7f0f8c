"""'This consent still allows use': one rule, the same in SQL and on one row."""

from __future__ import annotations

import itertools

from consent.models import ConsentStatus, ConsentVersion, CurrentConsent, allows_use_q
from tests.consent.conftest import give
from tests.factories import ParticipantFactory

# Written out, not derived from the rule under test: only withdrawal from use and a
# suspension take a consent out of use.
ALLOWS_USE = {
    (ConsentStatus.ACTIVE, False),
    (ConsentStatus.NO_CONTACT, False),
    (ConsentStatus.NO_ACCESS, False),
}


def test_allows_use_in_sql_and_on_the_row_for_every_status(version: ConsentVersion) -> None:
    states = {}
    for status, suspended in itertools.product(ConsentStatus, [False, True]):
        participant = ParticipantFactory()
        give(participant, version)
        CurrentConsent.objects.filter(participant=participant).update(
            status=status, suspended=suspended
        )
        states[participant.pk] = (status, suspended)

    in_sql = {
        states[pk]
        for pk in CurrentConsent.objects.filter(allows_use_q()).values_list(
            "participant_id", flat=True
        )
    }
    on_the_row = {
        states[current.participant_id]
        for current in CurrentConsent.objects.all()
        if current.releasable
    }

    assert in_sql == ALLOWS_USE
    assert on_the_row == ALLOWS_USE
