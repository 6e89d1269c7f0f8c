"""The sealer: committed audit entries get consecutive leaves and a signed checkpoint; a
late commit is sealed by the next seal; two sealers at once never duplicate a leaf."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from portal import merkle
from portal.audit import audit_log
from portal.ledger import leaf_data, ledger_seal, ledger_verifier
from portal.models import AuditEvent, LedgerCheckpoint, LedgerLeaf, LedgerState, User
from portal.signed_note import checkpoint_open
from portal.tasks import seal_ledger_task


def _entry(actor: User | None, n: int | str) -> AuditEvent:
    return audit_log(actor=actor, action="test.seal", object_type="thing", object_id=n)


def test_seal_gives_backlog_consecutive_leaves_in_id_order(researcher: User) -> None:
    entries = [_entry(researcher, n) for n in range(5)]

    result = ledger_seal()

    assert result.sealed == 5
    assert result.tree_size == 5
    leaves = list(LedgerLeaf.objects.order_by("leaf_index"))
    assert [leaf.leaf_index for leaf in leaves] == [0, 1, 2, 3, 4]
    assert [leaf.event_id for leaf in leaves] == [e.pk for e in entries]


def test_seal_signs_a_checkpoint_of_the_recomputed_root(researcher: User) -> None:
    entries = [_entry(researcher, n) for n in range(3)]

    checkpoint = ledger_seal().checkpoint

    assert checkpoint is not None
    opened = checkpoint_open(checkpoint.note, ledger_verifier())
    assert opened.origin == "custodian/audit-ledger"
    assert opened.size == 3
    expected = merkle.node_hash(
        merkle.node_hash(
            merkle.leaf_hash(leaf_data(entries[0])), merkle.leaf_hash(leaf_data(entries[1]))
        ),
        merkle.leaf_hash(leaf_data(entries[2])),
    )
    assert opened.root_hash == expected


def test_leaf_commits_to_the_entrys_id_and_content(researcher: User) -> None:
    entry = _entry(researcher, "x1")

    data = leaf_data(entry).decode()

    assert data.startswith(f'{{"action":"test.seal","actor_id":{researcher.pk},')
    assert f'"id":{entry.pk},' in data
    assert '"object_id":"x1","object_type":"thing"' in data


def test_seal_with_nothing_new_signs_nothing(researcher: User) -> None:
    _entry(researcher, 1)
    ledger_seal()

    again = ledger_seal()

    assert again.sealed == 0
    assert again.checkpoint is None
    assert LedgerCheckpoint.objects.count() == 1


def test_first_seal_of_an_empty_ledger_signs_the_empty_tree(db: None) -> None:
    result = ledger_seal()

    assert result.checkpoint is not None
    assert result.checkpoint.root_hash == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_backlog_larger_than_a_batch_is_sealed_over_several_runs(researcher: User) -> None:
    for n in range(5):
        _entry(researcher, n)

    assert ledger_seal(limit=2).tree_size == 2
    assert ledger_seal(limit=2).tree_size == 4
    assert ledger_seal(limit=2).tree_size == 5
    assert LedgerCheckpoint.objects.count() == 3


def test_task_seals(researcher: User) -> None:
    _entry(researcher, 1)

    seal_ledger_task()

    assert LedgerLeaf.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_entry_committed_after_a_seal_is_sealed_by_the_next() -> None:
    drawn, release = threading.Event(), threading.Event()
    late: list[AuditEvent] = []

    def late_writer() -> None:
        try:
            with transaction.atomic():
                late.append(_entry(None, "late"))
                drawn.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=late_writer)
    thread.start()
    assert drawn.wait(30)
    early = _entry(None, "early")
    assert late[0].pk < early.pk

    first = ledger_seal()
    second = ledger_seal()
    release.set()
    thread.join()
    third = ledger_seal()

    assert (first.sealed, second.sealed, third.sealed) == (1, 0, 1)
    leaves = dict(LedgerLeaf.objects.values_list("event_id", "leaf_index"))
    assert leaves == {early.pk: 0, late[0].pk: 1}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_never_lose_or_duplicate_an_entry() -> None:
    errors: list[BaseException] = []
    writing = threading.Event()

    def write(worker: int) -> None:
        try:
            for n in range(15):
                with transaction.atomic():
                    _entry(None, f"{worker}-{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def seal() -> None:
        try:
            while not writing.is_set():
                ledger_seal(limit=7)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    sealers = [threading.Thread(target=seal) for _ in range(2)]
    for thread in [*writers, *sealers]:
        thread.start()
    for thread in writers:
        thread.join()
    writing.set()
    for thread in sealers:
        thread.join()
    while ledger_seal().sealed:
        pass

    assert not errors
    assert AuditEvent.objects.count() == 60
    leaves = list(LedgerLeaf.objects.order_by("leaf_index").values_list("leaf_index", "event_id"))
    assert [index for index, _ in leaves] == list(range(60))
    assert sorted(event for _, event in leaves) == sorted(
        AuditEvent.objects.values_list("id", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_entry_open_across_two_seals_and_another_commit_is_sealed_after_it_commits() -> None:
    """The mark a seal keeps must lie above the xid of every transaction holding an id it
    counted. A snapshot's xmax does not: it is the last finished xid plus one, so a writer
    that got its xid after the last commit (a quiet database) is at or above it, and a later
    seal, after another commit, would find "nothing older still running" and move past the
    open entry for good."""
    drawn, release = threading.Event(), threading.Event()
    late: list[tuple[AuditEvent, int]] = []

    def late_writer() -> None:
        try:
            with transaction.atomic():
                entry = _entry(None, "open")
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()::text::bigint")
                    late.append((entry, cursor.fetchone()[0]))
                drawn.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=late_writer)
    thread.start()
    try:
        assert drawn.wait(30)
        first = ledger_seal()
        assert LedgerState.objects.get().pending_xid > late[0][1]
        committed = _entry(None, "committed meanwhile")
        second = ledger_seal()
        third = ledger_seal()
    finally:
        release.set()
        thread.join()
    fourth = ledger_seal()

    assert (first.sealed, second.sealed, third.sealed, fourth.sealed) == (0, 1, 0, 1)
    leaves = dict(LedgerLeaf.objects.values_list("event_id", "leaf_index"))
    assert leaves == {committed.pk: 0, late[0][0].pk: 1}
