"""Inclusion and consistency proofs of the transparency log, from kept subtree hashes.

RFC 9162 builds both proofs from roots of subtrees [start, end) (2.1.3.1, 2.1.4.1). Every such
subtree splits into perfect subtrees aligned on their size, and a perfect subtree's hash
never changes once its last leaf is sealed: `LedgerNode` keeps them (level 1 and up; the
leaves are level 0). A proof then reads at most about 2·log2(n) rows, never every leaf.

The nodes are derived data: `ledger_nodes_extend` computes those of newly sealed leaves (the
seal task calls it; a proof calls it too, so a proof never waits for the task), and
`verify_audit_ledger` never trusts them, it recomputes the tree from the entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max, Q

from portal import merkle
from portal.exceptions import NotFoundError, PortalError
from portal.models import AuditEvent, LedgerCheckpoint, LedgerLeaf, LedgerNode, LedgerState

# Leaves read per round while extending the kept nodes (memory stays bounded).
EXTEND_BATCH = 20000

Node = tuple[int, int]  # (level, index): leaves [index << level, (index + 1) << level)


class ProofRequestError(PortalError):
    code = "invalid_proof_request"
    http_status = 400


def _perfect_parts(start: int, end: int) -> list[Node]:
    """The aligned perfect subtrees that make up [start, end), left to right, largest first."""
    parts: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start & ((1 << level) - 1):
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def _nodes_covered() -> int:
    """How many leaves the kept nodes cover: every perfect subtree inside [0, that) is kept."""
    top = LedgerNode.objects.filter(level=1).aggregate(top=Max("index"))["top"]
    return 0 if top is None else 2 * (top + 1)


def _fetch(nodes: Iterable[Node]) -> dict[Node, bytes]:
    wanted = set(nodes)
    found: dict[Node, bytes] = {}
    leaves = [index for level, index in wanted if level == 0]
    if leaves:
        for index, value in LedgerLeaf.objects.filter(leaf_index__in=leaves).values_list(
            "leaf_index", "leaf_hash"
        ):
            found[(0, index)] = bytes.fromhex(value)
    inner: dict[int, list[int]] = {}
    for level, index in wanted:
        if level:
            inner.setdefault(level, []).append(index)
    if inner:
        query = Q()
        for level, indexes in inner.items():
            query |= Q(level=level, index__in=indexes)
        for level, index, value in LedgerNode.objects.filter(query).values_list(
            "level", "index", "node_hash"
        ):
            found[(level, index)] = bytes.fromhex(value)
    missing = wanted - found.keys()
    if missing:
        level, index = min(missing)
        raise merkle.ProofError(
            f"the ledger lacks the hash of leaves {index << level} to {((index + 1) << level) - 1}"
        )
    return found


def ledger_nodes_extend(*, tree_size: int | None = None) -> int:
    """Keep the hash of every perfect subtree of the first `tree_size` leaves (default: all
    sealed ones); returns how many leaves the kept nodes now cover.

    Safe if two run at once: both compute the same hashes and the second insert is ignored.
    1. Find where the kept nodes end (always an even leaf count) and load the roots of the
       perfect subtrees left of it: the left siblings still waiting for a right one.
    2. Read the following leaves in order, in batches; merge equal-sized neighbours as
       `merkle.frontier_append` does, keeping each merged node.
    """
    if tree_size is None:
        # The sealer's own count: counting the leaves would read the whole index.
        tree_size = LedgerState.objects.values_list("tree_size", flat=True).first() or 0
    covered = _nodes_covered()
    if covered >= tree_size - 1:
        return covered
    known = _fetch(_perfect_parts(0, covered))
    stack: list[tuple[int, int, bytes]] = [(lv, ix, known[(lv, ix)]) for lv, ix in known]
    stack.sort(key=lambda node: -node[0])
    position = covered
    while position < tree_size:
        end = min(tree_size, position + EXTEND_BATCH)
        new: list[LedgerNode] = []
        rows = (
            LedgerLeaf.objects.filter(leaf_index__gte=position, leaf_index__lt=end)
            .order_by("leaf_index")
            .values_list("leaf_index", "leaf_hash")
        )
        for index, value in rows.iterator(chunk_size=5000):
            if index != position:
                raise merkle.ProofError(f"the ledger lacks leaf {position}")
            stack.append((0, index, bytes.fromhex(value)))
            position += 1
            while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
                level, right_index, right = stack.pop()
                _, _, left = stack.pop()
                parent = (level + 1, right_index >> 1, merkle.node_hash(left, right))
                stack.append(parent)
                new.append(LedgerNode(level=parent[0], index=parent[1], node_hash=parent[2].hex()))
        if position < end:
            raise merkle.ProofError(f"the ledger lacks leaf {position}")
        with transaction.atomic():
            LedgerNode.objects.bulk_create(new, batch_size=5000, ignore_conflicts=True)
    return tree_size - tree_size % 2


def _range_root(start: int, end: int, hashes: dict[Node, bytes]) -> bytes:
    parts = _perfect_parts(start, end)
    value = hashes[parts[-1]]
    for part in reversed(parts[:-1]):
        value = merkle.node_hash(hashes[part], value)
    return value


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(m, D[n]) of RFC 9162, 2.1.3.1, as the ranges whose roots make the path."""
    ranges = []
    start, end = 0, size
    while end - start > 1:
        k = 1 << ((end - start - 1).bit_length() - 1)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(first: int, size: int) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[n], true) of RFC 9162, 2.1.4.1, as ranges (0 < first < size)."""
    ranges = []
    start, end, m, complete = 0, size, first, True
    while m != end - start:
        k = 1 << ((end - start - 1).bit_length() - 1)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _roots(ranges: list[tuple[int, int]], size: int) -> list[bytes]:
    ledger_nodes_extend(tree_size=size)
    hashes = _fetch(node for start, end in ranges for node in _perfect_parts(start, end))
    return [_range_root(start, end, hashes) for start, end in ranges]


# Proofs against signed checkpoints -----------------------------------------------------------


def _checkpoint(size: int | None, name: str) -> LedgerCheckpoint:
    latest = LedgerCheckpoint.objects.order_by("-tree_size").first()
    if latest is None:
        raise NotFoundError("No checkpoint has been signed yet: nothing can be proved.")
    if size is None:
        return latest
    if size < 1:
        raise ProofRequestError(
            "The empty tree (size 0) proves nothing: give a tree size of at least 1."
        )
    if size > latest.tree_size:
        raise ProofRequestError(
            f"{name} {size} is beyond the log, whose latest checkpoint has tree size "
            f"{latest.tree_size}."
        )
    checkpoint = LedgerCheckpoint.objects.filter(tree_size=size).first()
    if checkpoint is None:
        raise NotFoundError(
            f"No checkpoint was signed at tree size {size}; proofs are given between signed "
            "checkpoints (the latest is at /ledger/checkpoint)."
        )
    return checkpoint


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    entry_id: int
    leaf_hash: bytes
    path: list[bytes]
    checkpoint: LedgerCheckpoint

    def as_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "entry_id": self.entry_id,
            "leaf_hash": self.leaf_hash.hex(),
            "inclusion_path": [h.hex() for h in self.path],
            "root_hash": self.checkpoint.root_hash,
            "checkpoint": self.checkpoint.note,
        }


def _leaf_of_entry(entry_id: int) -> LedgerLeaf:
    leaf = LedgerLeaf.objects.filter(event_id=entry_id).first()
    if leaf is not None:
        return leaf
    if AuditEvent.objects.filter(pk=entry_id).exists():
        raise NotFoundError(f"Entry #{entry_id} is not sealed yet; ask again in a few seconds.")
    raise NotFoundError(f"There is no audit entry #{entry_id}.")


def _leaf_at(leaf_index: int) -> LedgerLeaf:
    leaf = LedgerLeaf.objects.filter(leaf_index=leaf_index).first()
    if leaf is None:
        raise NotFoundError(f"There is no leaf {leaf_index} in the log.")
    return leaf


def inclusion_proof_get(
    *, entry_id: int | None = None, leaf_index: int | None = None, tree_size: int | None = None
) -> InclusionProof:
    """The audit path of an entry (or a leaf) in the tree of a signed checkpoint (default: the
    latest); refusals say in words what was wrong."""
    if (entry_id is None) == (leaf_index is None):
        raise ProofRequestError("Give either an entry id or a leaf index, not both.")
    leaf = _leaf_of_entry(entry_id) if entry_id is not None else _leaf_at(leaf_index or 0)
    checkpoint = _checkpoint(tree_size, "tree_size")
    if leaf.leaf_index >= checkpoint.tree_size:
        raise ProofRequestError(
            f"Leaf {leaf.leaf_index} was sealed after the checkpoint of tree size "
            f"{checkpoint.tree_size}; ask for a later one."
        )
    path = _roots(_inclusion_ranges(leaf.leaf_index, checkpoint.tree_size), checkpoint.tree_size)
    return InclusionProof(
        leaf.leaf_index,
        checkpoint.tree_size,
        leaf.event_id,
        bytes.fromhex(leaf.leaf_hash),
        path,
        checkpoint,
    )


def consistency_proof_get(*, first: int, second: int | None = None) -> dict[str, Any]:
    """Proof that the tree of the checkpoint at `first` is a prefix of the one at `second`
    (default: the latest), RFC 9162 2.1.4."""
    if second is not None and first > second:
        raise ProofRequestError(
            f"first ({first}) is larger than second ({second}): a log only grows, so an "
            "older tree is never larger than a newer one."
        )
    older = _checkpoint(first, "first")
    newer = _checkpoint(second, "second")
    if older.tree_size > newer.tree_size:
        raise ProofRequestError(
            f"first ({first}) is larger than the latest tree size ({newer.tree_size})."
        )
    path = (
        []
        if first == newer.tree_size
        else _roots(_consistency_ranges(first, newer.tree_size), newer.tree_size)
    )
    return {
        "first": first,
        "second": newer.tree_size,
        "consistency_path": [h.hex() for h in path],
        "first_root_hash": older.root_hash,
        "second_root_hash": newer.root_hash,
        "first_checkpoint": older.note,
        "second_checkpoint": newer.note,
    }


def consistency_path(first: int, second: int) -> list[bytes]:
    """The consistency proof between two tree sizes of the kept tree, signed or not (for
    `verify_audit_ledger`, which checks it against checkpoints kept elsewhere)."""
    if not 0 < first < second:
        return []
    return _roots(_consistency_ranges(first, second), second)


def consistency_verify(*, first: int, first_root: bytes, second: int, second_root: bytes) -> int:
    """Prove with the kept subtree hashes that the tree of `first` leaves (an earlier
    checkpoint's root) is a prefix of the tree of `second` leaves, as a witness would; returns
    the proof's length in hashes, or raises ProofError saying what does not hold."""
    path = consistency_path(first, second)
    merkle.verify_consistency(first, second, first_root, second_root, path)
    return len(path)
