"""Appending to the audit ledger: one INSERT in the writer's own transaction, no lock shared
with other writers; PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the ledger's tables."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from portal.audit import audit_log
from portal.ledger import ledger_seal
from portal.models import AuditEvent, User

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only triggers exist on PostgreSQL"
)
LEDGER_TABLES = [
    "portal_auditevent",
    "portal_ledgerleaf",
    "portal_ledgernode",
    "portal_ledgercheckpoint",
]


def _three_entries(actor: User) -> list[AuditEvent]:
    return [
        audit_log(actor=actor, action="test.step", object_type="thing", object_id=n, after={"n": n})
        for n in range(3)
    ]


def test_entry_keeps_what_happened(researcher: User) -> None:
    entry = audit_log(
        actor=researcher,
        action="test.step",
        object_type="thing",
        object_id=7,
        before={"status": "a"},
        after={"status": "b"},
    )

    entry = AuditEvent.objects.get(pk=entry.pk)
    assert (entry.actor_id, entry.actor_label) == (researcher.pk, "researcher@example.org")
    assert (entry.action, entry.object_type, entry.object_id) == ("test.step", "thing", "7")
    assert (entry.before, entry.after) == ({"status": "a"}, {"status": "b"})
    assert entry.changes_state is True


def test_verify_command_reports_intact_ledger(researcher: User) -> None:
    _three_entries(researcher)
    ledger_seal()
    audit_log(actor=researcher, action="test.step", object_type="thing", object_id=9)
    out = StringIO()

    call_command("verify_audit_ledger", stdout=out)

    assert "transparency log intact: 3 leaves" in out.getvalue()
    assert "1 newer entries are not sealed yet" in out.getvalue()


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


@on_postgres
@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_postgres_refuses_truncate_of_ledger_tables(researcher: User, table: str) -> None:
    _three_entries(researcher)
    ledger_seal()

    with transaction.atomic(), connection.cursor() as cursor:
        # The test's own inserts leave deferred foreign-key checks, which TRUNCATE refuses
        # to run past: check them now, so only the trigger can refuse.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with (
            pytest.raises(DatabaseError, match=f"TRUNCATE on public.{table} is refused"),
            transaction.atomic(),
        ):
            cursor.execute(f"TRUNCATE {table} CASCADE")

    assert AuditEvent.objects.count() == 3


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_writer_does_not_wait_for_another_writers_open_transaction() -> None:
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                audit_log(actor=None, action="test.slow", object_type="thing", object_id=1)
                written.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(30)
        # The old ledger took a transaction-wide advisory lock here: this write waited until
        # the slow writer committed (and now fails on the lock timeout instead).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            audit_log(actor=None, action="test.quick", object_type="thing", object_id=2)
        assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.quick"]
    finally:
        release.set()
        thread.join()
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == [
        "test.quick",
        "test.slow",
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_lose_or_duplicate_an_entry(researcher: User) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def append(worker: int) -> None:
        try:
            start.wait(30)
            for n in range(25):
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

    threads = [threading.Thread(target=append, args=(w,)) for w in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    written = list(AuditEvent.objects.values_list("object_id", flat=True))
    assert sorted(written) == sorted(f"{w}-{n}" for w in range(12) for n in range(25))
    ids = list(AuditEvent.objects.values_list("id", flat=True))
    assert len(set(ids)) == 300
