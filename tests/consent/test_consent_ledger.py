from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant
from consent.selectors import consent_ledger_verify
from tests.consent.conftest import ALL_YES, give


def _history(participant: Participant, version: ConsentVersion) -> list[ConsentRecord]:
    return [
        give(participant, version),
        give(participant, version, {**ALL_YES, "general": "no"}, sequence=1),
        give(participant, version, {**ALL_YES, "commercial": "no"}, sequence=2),
    ]


def _bypass(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_verify_command_reports_intact_ledger(
    enrolled: Participant, version: ConsentVersion
) -> None:
    _history(enrolled, version)
    out = StringIO()

    call_command("verify_consent_ledger", stdout=out)

    assert "consent ledger intact: 3 records of 1 participants verified" in out.getvalue()


def test_verify_detects_edited_record(enrolled: Participant, version: ConsentVersion) -> None:
    middle = _history(enrolled, version)[1]

    _bypass(
        "UPDATE consent_consentrecord SET answers = %s WHERE id = %s",
        ['{"general": "yes"}', middle.pk],
    )

    report = consent_ledger_verify()
    assert (
        report.problems[0]
        == f"{enrolled.study_id} record #2: does not match its hash: its content was edited"
    )
    with pytest.raises(CommandError, match="record #2"):
        call_command("verify_consent_ledger")


def test_verify_detects_deleted_record(enrolled: Participant, version: ConsentVersion) -> None:
    first, middle, _ = _history(enrolled, version)
    _bypass(
        "UPDATE consent_currentconsent SET record_id = %s WHERE participant_id = %s",
        [first.pk, enrolled.pk],
    )  # only so the row can be deleted
    _bypass("DELETE FROM consent_consentrecord WHERE id = %s", [middle.pk])

    problems = consent_ledger_verify().problems

    assert f"{enrolled.study_id} record #3: expected record #2 (one is missing)" in problems


def test_verify_detects_projection_out_of_step(
    enrolled: Participant, version: ConsentVersion
) -> None:
    _history(enrolled, version)
    CurrentConsent.objects.filter(participant=enrolled).update(answers={"general": "yes"})

    assert consent_ledger_verify().problems == (
        f"{enrolled.study_id}: the current consent does not match the last record",
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_postgres_refuses_update_and_delete_of_records(
    enrolled: Participant, version: ConsentVersion
) -> None:
    record = _history(enrolled, version)[0]

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(signature="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).delete()

    record.refresh_from_db()
    assert record.signature == enrolled.user.full_name
