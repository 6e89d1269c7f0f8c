"""Concurrent submissions for one participant are serialized; a stale one is refused."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant
from consent.selectors import consent_ledger_verify
from consent.services import StaleConsentError
from tests.consent.conftest import ALL_YES, give

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL's concurrency"
    ),
]


def test_two_submissions_from_the_same_page_one_wins(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(general: str) -> None:
        try:
            barrier.wait()
            give(enrolled, version, {**ALL_YES, "general": general, "abroad": "no"}, sequence=1)
            outcomes.append("saved")
        except StaleConsentError:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(g,)) for g in ("no", "yes")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["saved", "stale"]
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 2
    assert CurrentConsent.objects.get(participant=enrolled).sequence == 2
    assert consent_ledger_verify().ok


def test_many_writers_keep_every_chain_intact(
    version: ConsentVersion, participant, other_participant
) -> None:  # type: ignore[no-untyped-def]
    people = [participant.participant, other_participant.participant]
    for person in people:
        give(person, version)
    errors: list[BaseException] = []

    def toggle(person: Participant, rounds: int) -> None:
        try:
            for _ in range(rounds):
                current = CurrentConsent.objects.get(participant=person)
                general = "no" if current.answers["general"] == "yes" else "yes"
                try:
                    give(
                        person, version, {**ALL_YES, "general": general}, sequence=current.sequence
                    )
                except StaleConsentError:
                    continue
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=toggle, args=(people[i % 2], 8)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    report = consent_ledger_verify()
    assert report.ok, report.problems
    for person in people:
        assert CurrentConsent.objects.get(participant=person).sequence == person.records.count()
