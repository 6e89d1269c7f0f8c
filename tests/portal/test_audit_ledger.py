from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from portal.audit import GENESIS_HASH, audit_log, audit_verify
from portal.models import AuditEvent, User

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL"
)


def _three_entries(actor: User) -> list[AuditEvent]:
    return [
        audit_log(actor=actor, action="test.step", object_type="thing", object_id=n, after={"n": n})
        for n in range(3)
    ]


def _edit_bypassing_trigger(sql: str, params: list[object]) -> None:
    """What an attacker with database superuser rights could do: skip the trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_entries_chain_from_genesis(researcher: User) -> None:
    first, second, third = _three_entries(researcher)

    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.entry_hash
    assert third.previous_hash == second.entry_hash
    assert audit_verify().ok


def test_verify_command_reports_intact_ledger(researcher: User) -> None:
    _three_entries(researcher)
    out = StringIO()

    call_command("verify_audit_ledger", stdout=out)

    assert "audit ledger intact: 3 entries verified" in out.getvalue()


def test_verify_detects_edited_entry(researcher: User) -> None:
    _, middle, _ = _three_entries(researcher)

    _edit_bypassing_trigger(
        "UPDATE portal_auditevent SET after = %s WHERE id = %s", ['{"n": 99}', middle.pk]
    )

    report = audit_verify()
    assert report.first_break is not None
    assert report.first_break.entry_id == middle.pk
    assert "content was edited" in report.first_break.problem
    with pytest.raises(CommandError, match=f"entry #{middle.pk} .*content was edited"):
        call_command("verify_audit_ledger")


def test_verify_detects_deleted_entry(researcher: User) -> None:
    _, middle, last = _three_entries(researcher)

    _edit_bypassing_trigger("DELETE FROM portal_auditevent WHERE id = %s", [middle.pk])

    report = audit_verify()
    assert report.first_break is not None
    assert report.first_break.entry_id == last.pk
    assert "deleted, inserted or reordered" in report.first_break.problem


@on_postgres
def test_postgres_refuses_update_of_ledger(researcher: User) -> None:
    entry = _three_entries(researcher)[0]

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=entry.pk).update(action="tampered")

    entry.refresh_from_db()
    assert entry.action == "test.step"


@on_postgres
def test_postgres_refuses_delete_of_ledger(researcher: User) -> None:
    entry = _three_entries(researcher)[0]

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=entry.pk).delete()

    assert AuditEvent.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain(researcher: User) -> None:
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(10):
                with transaction.atomic():
                    audit_log(
                        actor=researcher,
                        action="test.concurrent",
                        object_type="w",
                        object_id=f"{worker}-{n}",
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert AuditEvent.objects.count() == 40
    report = audit_verify()
    assert report.ok, report.first_break
    assert report.entries_checked == 40
