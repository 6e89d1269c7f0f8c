"""Counts, records and ranges AND each allele's carriers with who may be counted, cached per
purpose and file under `portal.audit.state_version`: a consent change applies to the next
query, and beacon queries (audited as reads) leave the version, and so every other cache
keyed by it (DRS answers, the review page's breakdown), where it was."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.audit import state_version
from portal.ledger import ledger_seal
from tests.access.beacon_support import BeaconWorld, ask, sequence
from tests.access.delivery_support import withdraw

RANGE = {
    "assemblyId": "GRCh38",
    "referenceName": "1",
    "start": 0,
    "end": 10_000,
    "requestedGranularity": "count",
}


def test_a_withdrawal_changes_the_next_count_and_range(beacon_world: BeaconWorld) -> None:
    counted = sequence(5000, "A", "T", requestedGranularity="count")
    assert ask(Client(), counted).json()["info"]["carriers"] == 6
    assert ask(Client(), RANGE).json()["responseSummary"]["numTotalResults"] == 5

    withdraw(beacon_world.cohort.consenting[0])  # S000, the only carrier at 2000

    assert ask(Client(), counted).json()["info"]["carriers"] == 5
    ranged = ask(Client(), RANGE).json()
    # 5000, 6000, 7000 and 7100 are left: a count below 5, shown as a range in public.
    assert ranged["info"]["numTotalResults"] == "1-4"
    assert ranged["info"]["carriers"] == 5


def _settle() -> str:
    """Seal until the sealer's mark passes every entry, so the version is a settled one."""
    while ledger_seal().sealed:
        pass
    ledger_seal()
    return state_version()


def _sample_queries(captured: CaptureQueriesContext) -> int:
    return sum('"datasets_sample"' in q["sql"] for q in captured.captured_queries)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the sealer needs PostgreSQL")
def test_beacon_queries_leave_the_version_and_reuse_who_counts(
    beacon_world: BeaconWorld,
) -> None:
    counted = sequence(5000, "A", "T", requestedGranularity="count")
    settled = _settle()
    assert ask(Client(), counted).json()["info"]["carriers"] == 6

    with CaptureQueriesContext(connection) as again:
        assert ask(Client(), counted).json()["info"]["carriers"] == 6
        assert ask(Client(), {**counted, "start": "x"}).status_code == 400  # refused, audited

    assert _sample_queries(again) == 0  # who counts was read once for this version
    ledger_seal()
    assert state_version() == settled

    withdraw(beacon_world.cohort.consenting[0])
    with CaptureQueriesContext(connection) as moved:
        assert ask(Client(), counted).json()["info"]["carriers"] == 5
    assert _sample_queries(moved) == 1
    assert _settle() != settled
