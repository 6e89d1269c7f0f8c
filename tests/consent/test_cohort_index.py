"""The cohort query is answered from the partial covering index (its condition and the
cohort filter are built from the same rule; if they drifted apart PostgreSQL would fall
back to reading the table, silently)."""

from __future__ import annotations

import pytest
from django.db import connection

from consent.duo import PrimaryUse, ResearchPurpose
from consent.meanings import cohort_q
from consent.models import ConsentVersion, CurrentConsent
from tests.consent.conftest import give
from tests.factories import ParticipantFactory

PURPOSES = [
    ResearchPurpose(primary=PrimaryUse.GRU),
    ResearchPurpose(primary=PrimaryUse.HMB),
    ResearchPurpose(primary=PrimaryUse.HMB, commercial=True),
    ResearchPurpose(primary=PrimaryUse.HMB, country="GB"),
    ResearchPurpose(primary=PrimaryUse.POA, country="FR"),
]


def _plan(purpose: ResearchPurpose) -> str:
    cohort = CurrentConsent.objects.filter(cohort_q(purpose)).values("participant_id")
    sql, params = cohort.query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows makes a table scan cheapest; with table scans priced out, the
        # planner still cannot pick an index whose condition the query does not imply, so
        # what it picks shows which index the query can use, and whether it covers it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("purpose", PURPOSES, ids=lambda p: f"{p.primary.value}-{p.country}")
def test_cohort_query_reads_only_the_usable_consent_index(
    version: ConsentVersion, purpose: ResearchPurpose
) -> None:
    for _ in range(3):
        give(ParticipantFactory(), version)

    plan = _plan(purpose)

    assert "Index Only Scan using consent_current_usable" in plan, plan
