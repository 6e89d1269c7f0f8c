"""The transparency log over the audit ledger: sealing, signed checkpoints, proofs.

Services audit in their own transactions (portal.audit); afterwards one *sealer* gives the
committed entries consecutive leaf indexes in an RFC 9162 Merkle tree and signs a checkpoint
(c2sp.org/tlog-checkpoint) with a key held outside the database.

How an entry that commits late is never skipped
-----------------------------------------------
Ids come from a sequence, and a transaction can draw id 10, stay open, and commit after id
11 was committed and sealed. The sealer therefore never asks "which ids are above the last
one sealed" but "which committed entries have no leaf", over the ids above `sealed_through`,
a mark below which every entry is known to be sealed. The mark only moves once nothing that
is still running can hold an id below it:

1. A trigger (migration 0010) gives each transaction a transaction id (xid) before it
   draws an entry id, so whoever holds an id has an xid.
2. Each seal reads the sequence's position L, then takes its own xid X (locking the state
   row does). A transaction holding an id up to L drew it before L was read, and got its xid
   before that, so its xid is below X (xids are handed out in order). The pair (L, X) is
   kept. (Not a snapshot's xmax: that is the last *finished* xid plus one, and a running
   transaction can hold an xid above it.)
3. A later seal (after that transaction has ended) looks for the oldest xid still running in
   this database (pg_stat_activity, prepared transactions). None below X means every
   transaction that drew an id up to L has finished: the seal sees every entry with an id up
   to L that was ever committed, seals the unsealed ones, and only then moves
   `sealed_through` to L. (So `sealed_through` also means: every transaction that drew an id
   up to it has finished, which `portal.audit.state_version` relies on.) A transaction that
   stays open for long in this database holds the mark back, never the sealing itself.

So a writer that commits after a seal is sealed by the next one, with the next leaf index
(leaves are in the order entries were sealed, and in id order within one seal). Two sealers
started at once take turns on the lock of the one `LedgerState` row; writers never take it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from portal import merkle
from portal.audit import _payload, canonical_json
from portal.models import AuditEvent, LedgerCheckpoint, LedgerLeaf, LedgerState
from portal.signed_note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    checkpoint_open,
    note_sign,
    signer_from_key,
)
from portal.signed_note import signer_from_seed_material as _derived_signer

# At most this many entries per seal, so one transaction stays short; the backlog of an
# existing ledger is sealed over the next runs.
SEAL_BATCH = 5000


def ledger_origin() -> str:
    # getattr: the settings' lines may land after this module (a shared file).
    return getattr(settings, "CUSTODIAN_LEDGER_ORIGIN", "") or "custodian/audit-ledger"


def ledger_signer() -> Signer:
    key = getattr(settings, "CUSTODIAN_LEDGER_KEY", "")
    if key:
        return signer_from_key(key)
    return _derived_signer(ledger_origin(), settings.SECRET_KEY.encode())


def ledger_verifier() -> Verifier:
    return ledger_signer().verifier


def leaf_data(event: Any) -> bytes:
    """The bytes a leaf commits to: the entry's id and content, as canonical JSON.

    `event` is an AuditEvent, or a row with the same field names (the verifier reads rows:
    a million model instances cost more than hashing them)."""
    return canonical_json({"id": event.id, **_payload(event)}).encode("utf-8")


def _sequence_position() -> int:
    """How far the audit ids have been drawn (read before the sealer takes its xid)."""
    if connection.vendor != "postgresql":
        # SQLite runs one writer at a time and commits before the next draws an id.
        return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_value FROM "
            "pg_sequences WHERE schemaname = current_schema() "
            "AND sequencename = split_part(pg_get_serial_sequence('portal_auditevent', 'id'),"
            " '.', 2)"
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _own_xid_and_oldest_running() -> tuple[int, int]:
    """(this transaction's xid, the oldest xid still running in this database, or this one's
    if none older runs).

    Only this database's transactions can hold an audit id, so a long transaction in another
    database on the same server (a bulk load, another application) does not hold the mark
    back as a snapshot's xmin, which is server-wide, would. A running xid is within 2^31 of
    ours, so ours minus its age is its full (epoch-extended) value.
    """
    if connection.vendor != "postgresql":
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH me AS (SELECT pg_current_xact_id()::text::bigint AS xid), "
            "running AS ("
            " SELECT backend_xid AS xid FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_xid IS NOT NULL"
            " AND pid <> pg_backend_pid()"
            " UNION ALL SELECT transaction FROM pg_prepared_xacts"
            " WHERE database = current_database())"
            "SELECT me.xid, LEAST(me.xid, (SELECT MIN(me.xid - age(r.xid)) FROM running r)) "
            "FROM me"
        )
        xid, oldest = cursor.fetchone()
    return int(xid), int(oldest)


def _state_locked() -> LedgerState:
    LedgerState.objects.bulk_create([LedgerState(id=1)], ignore_conflicts=True)
    return LedgerState.objects.select_for_update().get(id=1)


@dataclass(frozen=True)
class SealResult:
    sealed: int
    tree_size: int
    checkpoint: LedgerCheckpoint | None


def ledger_seal(*, limit: int = SEAL_BATCH) -> SealResult:
    """Seal committed, unsealed audit entries and sign a checkpoint of the grown tree.

    1. Read the sequence's position, then lock the state row, which gives this transaction
       its xid (a second sealer waits here, then finds nothing left to do).
    2. Read the xid and the oldest xid still running here (see the module docstring)
       before looking for entries.
    3. Give the unsealed entries above `sealed_through` the next leaf indexes, in id order.
    4. Move `sealed_through` if the previous horizon has passed and nothing was left over.
    5. Sign a checkpoint if the tree grew (or none exists yet).
    """
    with transaction.atomic(durable=True):
        sequence_now = _sequence_position()
        state = _state_locked()
        xid_now, xmin_now = _own_xid_and_oldest_running()
        unsealed = list(
            AuditEvent.objects.filter(
                id__gt=state.sealed_through, ledger_leaf__isnull=True
            ).order_by("id")[: limit + 1]
        )
        complete = len(unsealed) <= limit
        unsealed = unsealed[:limit]
        frontier = [bytes.fromhex(h) for h in state.frontier]
        size = state.tree_size
        leaves = []
        for event in unsealed:
            leaf = merkle.leaf_hash(leaf_data(event))
            leaves.append(LedgerLeaf(leaf_index=size, event=event, leaf_hash=leaf.hex()))
            frontier = merkle.frontier_append(frontier, size, leaf)
            size += 1
        LedgerLeaf.objects.bulk_create(leaves)
        if complete:
            if xmin_now >= state.pending_xid:
                state.sealed_through = max(state.sealed_through, state.pending_sequence)
            if xmin_now >= state.pending_xid or state.pending_sequence == 0:
                state.pending_sequence, state.pending_xid = sequence_now, xid_now
        state.tree_size = size
        state.frontier = [h.hex() for h in frontier]
        state.save()
        checkpoint = None
        if leaves or not LedgerCheckpoint.objects.exists():
            root = merkle.frontier_root(frontier)
            body = Checkpoint(ledger_origin(), size, root).text
            checkpoint = LedgerCheckpoint.objects.create(
                tree_size=size, root_hash=root.hex(), note=note_sign(body, ledger_signer())
            )
    return SealResult(len(leaves), size, checkpoint)


# Reads -------------------------------------------------------------------------------------


def checkpoint_latest() -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.order_by("-tree_size").first()


def _leaf_hashes(size: int) -> list[bytes]:
    hashes = [
        bytes.fromhex(h)
        for h in LedgerLeaf.objects.filter(leaf_index__lt=size)
        .order_by("leaf_index")
        .values_list("leaf_hash", flat=True)
        .iterator(chunk_size=10000)
    ]
    if len(hashes) != size:
        raise merkle.ProofError(f"the ledger holds {len(hashes)} of the {size} leaves")
    return hashes


def _checkpoint_of_size(size: int) -> LedgerCheckpoint:
    checkpoint = LedgerCheckpoint.objects.filter(tree_size=size).first()
    if checkpoint is None:
        raise merkle.ProofError(f"no checkpoint was signed at tree size {size}")
    return checkpoint


def inclusion_proof(*, leaf_index: int, tree_size: int) -> dict[str, Any]:
    """The audit path of a leaf in the tree of a signed checkpoint (RFC 9162, 2.1.3)."""
    checkpoint = _checkpoint_of_size(tree_size)
    hashes = _leaf_hashes(tree_size)
    proof = merkle.inclusion_proof(leaf_index, hashes)
    leaf = LedgerLeaf.objects.get(leaf_index=leaf_index)
    return {
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "entry_id": leaf.event_id,
        "leaf_hash": leaf.leaf_hash,
        "inclusion_path": [h.hex() for h in proof],
        "checkpoint": checkpoint.note,
    }


def consistency_proof(*, first: int, second: int) -> dict[str, Any]:
    """Proof that the tree of one checkpoint is a prefix of a later one's (RFC 9162, 2.1.4)."""
    if first > second:
        raise merkle.ProofError(f"a tree of {second} leaves cannot extend one of {first}")
    older, newer = _checkpoint_of_size(first), _checkpoint_of_size(second)
    proof = merkle.consistency_proof(first, _leaf_hashes(second))
    return {
        "first": first,
        "second": second,
        "consistency_path": [h.hex() for h in proof],
        "first_checkpoint": older.note,
        "second_checkpoint": newer.note,
    }


# Verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeReport:
    tree_size: int
    root_hash: bytes
    problem: str | None = None
    entry_id: int | None = None


def _leaves_in_order() -> Iterator[Any]:
    """Each sealed entry's fields (as leaf_data reads them), leaf index and leaf hash, in
    leaf order."""
    return (
        AuditEvent.objects.filter(ledger_leaf__isnull=False)
        .order_by("ledger_leaf__leaf_index")
        .values_list(
            "id",
            "occurred_at",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "request_id",
            "ledger_leaf__leaf_index",
            "ledger_leaf__leaf_hash",
            named=True,
        )
        .iterator(chunk_size=5000)
    )


def checkpoints_signed_here(verifier: Verifier) -> list[Checkpoint]:
    """The checkpoints kept in the database whose signature verifies: whoever rewrote the
    log could delete them but not forge them, so each is as good as a copy kept elsewhere
    for narrowing down where a rewrite starts."""
    opened = []
    for note in LedgerCheckpoint.objects.order_by("tree_size").values_list("note", flat=True):
        try:
            opened.append(checkpoint_open(note, verifier))
        except NoteError:
            continue  # another key's (before a rotation), or altered: proves nothing here
    return opened


def ledger_tree_verify(*, earlier: list[Checkpoint] | None = None) -> TreeReport:
    """Recompute every leaf from its entry and the root from the leaves; check each earlier
    checkpoint is the root of the tree's first leaves of its size.

    An earlier checkpoint is a copy kept outside the database (a witness, a file): if the
    database was truncated, had entries deleted, inserted, reordered or rewritten (with
    every hash recomputed), the first leaves no longer hash to the root it signed. The
    first entry that differs lies after the largest checkpoint that still matches and at or
    before the first that does not: with a checkpoint per seal, that is one entry.
    """
    wanted = {c.size: c for c in earlier or []}
    frontier: list[bytes] = []
    size = 0
    matched, first_after_match = 0, None
    for checkpoint in wanted.values():
        if checkpoint.size == 0 and checkpoint.root_hash != merkle.EMPTY_ROOT:
            return TreeReport(0, merkle.EMPTY_ROOT, "the empty tree has another root")
    for row in _leaves_in_order():
        index, leaf_hash, entry_id = (
            row.ledger_leaf__leaf_index,
            row.ledger_leaf__leaf_hash,
            row.id,
        )
        if index != size:
            return TreeReport(
                size,
                merkle.frontier_root(frontier),
                f"leaf {size} is missing (the next leaf, {index}, holds entry #{entry_id})",
                entry_id,
            )
        if size == matched:
            first_after_match = entry_id
        expected = merkle.leaf_hash(leaf_data(row))
        if expected.hex() != leaf_hash:
            return TreeReport(
                size,
                merkle.frontier_root(frontier),
                f"entry #{entry_id} (leaf {size}) does not match its leaf hash: "
                "its content was edited",
                entry_id,
            )
        frontier = merkle.frontier_append(frontier, size, expected)
        size += 1
        if size not in wanted:
            continue
        if merkle.frontier_root(frontier) == wanted[size].root_hash:
            matched = size
            continue
        if matched == size - 1:
            where = f"entry #{entry_id} (leaf {size - 1}) is the first that differs"
        else:
            where = (
                f"the first entry that differs is one of leaves {matched} to {size - 1} "
                f"(entries #{first_after_match} to #{entry_id})"
            )
        return TreeReport(
            size,
            merkle.frontier_root(frontier),
            f"the first {size} leaves do not match the checkpoint of tree size {size}: {where}",
            first_after_match,
        )
    root = merkle.frontier_root(frontier)
    longer = sorted(s for s in wanted if s > size)
    if longer:
        return TreeReport(
            size,
            root,
            f"the log holds {size} leaves but a checkpoint of tree size {longer[0]} was "
            f"signed: entries were removed from leaf {size} on",
        )
    return TreeReport(size, root)
