"""The log's inclusion and consistency proofs, built from kept subtree hashes, verify by RFC
9162's own algorithms (tests/portal/rfc9162.py) for every tree of 1 to 64 leaves, for random
larger ones, and give exactly the published transparency-dev/merkle vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.audit import audit_log
from portal.ledger import leaf_data, ledger_seal
from portal.models import AuditEvent, LedgerCheckpoint, LedgerLeaf, LedgerNode
from portal.proofs import consistency_proof_get, inclusion_proof_get, ledger_nodes_extend
from tests.portal import rfc9162

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "transparency-dev-merkle" / "vectors.json").read_text()
)


def _entries(n: int) -> list[AuditEvent]:
    return [
        audit_log(actor=None, action="test.proof", object_type="thing", object_id=i)
        for i in range(n)
    ]


def _seal_one_at_a_time(entries: list[AuditEvent]) -> None:
    for _ in entries:
        ledger_seal(limit=1)


def _hashes(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in proof]


def test_every_inclusion_proof_up_to_64_leaves_verifies_by_the_rfc(db: None) -> None:
    entries = _entries(64)
    _seal_one_at_a_time(entries)
    data = [leaf_data(e) for e in entries]
    for size in range(1, 65):
        root = rfc9162.mth(data[:size])
        for index in range(size):
            proof = inclusion_proof_get(leaf_index=index, tree_size=size)

            assert proof.entry_id == entries[index].pk
            assert proof.leaf_hash == rfc9162.leaf(data[index])
            assert proof.checkpoint.root_hash == root.hex()
            path = [bytes(h) for h in proof.path]
            assert rfc9162.verify_inclusion(index, size, proof.leaf_hash, path, root), (
                index,
                size,
            )
            assert not rfc9162.verify_inclusion(
                index, size, rfc9162.leaf(b"another record"), path, root
            )


def test_every_consistency_proof_up_to_64_leaves_verifies_by_the_rfc(db: None) -> None:
    entries = _entries(64)
    _seal_one_at_a_time(entries)
    data = [leaf_data(e) for e in entries]
    roots = [rfc9162.mth(data[:n]) for n in range(65)]
    for second in range(2, 65):
        for first in range(1, second):
            answer = consistency_proof_get(first=first, second=second)
            path = _hashes(answer["consistency_path"])

            assert (answer["first_root_hash"], answer["second_root_hash"]) == (
                roots[first].hex(),
                roots[second].hex(),
            )
            assert rfc9162.verify_consistency(first, second, roots[first], roots[second], path), (
                first,
                second,
            )
            rewritten = rfc9162.mth([*data[: first - 1], b"rewritten"])
            assert not rfc9162.verify_consistency(first, second, rewritten, roots[second], path)


def test_proof_between_equal_sizes_is_empty(db: None) -> None:
    _seal_one_at_a_time(_entries(3))

    answer = consistency_proof_get(first=3, second=3)

    assert answer["consistency_path"] == []
    assert answer["first_root_hash"] == answer["second_root_hash"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.integers(1, 120), min_size=2, max_size=8), data=st.data())
def test_random_larger_trees_prove_inclusion_and_consistency_by_the_rfc(
    db: None, batches: list[int], data: st.DataObject
) -> None:
    # Examples run in one test transaction: each grows the log the previous ones left.
    entries = [leaf.event for leaf in LedgerLeaf.objects.select_related("event")]
    entries += _entries(sum(batches))
    sizes = list(LedgerCheckpoint.objects.values_list("tree_size", flat=True))
    for batch in batches:
        sizes.append(ledger_seal(limit=batch).tree_size)
    leaves = [leaf_data(e) for e in entries]
    # Draws independent of the log's earlier state (hypothesis replays them), mapped onto it.
    pick_second, pick_first, pick_index = (data.draw(st.integers(0, 10**9)) for _ in range(3))
    second = sizes[pick_second % len(sizes)]
    earlier = [s for s in sizes if s <= second]
    first = earlier[pick_first % len(earlier)]
    index = pick_index % second
    root = rfc9162.mth(leaves[:second])

    inclusion = inclusion_proof_get(entry_id=entries[index].pk, tree_size=second)
    consistency = consistency_proof_get(first=first, second=second)

    assert inclusion.leaf_index == index
    assert rfc9162.verify_inclusion(index, second, inclusion.leaf_hash, inclusion.path, root)
    if first < second:
        assert rfc9162.verify_consistency(
            first,
            second,
            rfc9162.mth(leaves[:first]),
            root,
            _hashes(consistency["consistency_path"]),
        )


def _vector_log(size: int) -> None:
    """A log whose leaves are the published vectors' leaves (hashes set directly: the
    sealer hashes audit entries, the vectors hash their own bytes)."""
    leaves = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]][:size]
    events = AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                occurred_at=timezone.now(),
                action="test.vector",
                object_type="thing",
                object_id=str(i),
            )
            for i in range(size)
        ]
    )
    LedgerLeaf.objects.bulk_create(
        LedgerLeaf(leaf_index=i, event=e, leaf_hash=rfc9162.leaf(d).hex())
        for i, (e, d) in enumerate(zip(events, leaves, strict=True))
    )
    LedgerCheckpoint.objects.bulk_create(
        LedgerCheckpoint(tree_size=n, root_hash=h, note=f"vector root {n}\n")
        for n, h in ((int(n), h) for n, h in VECTORS["root_hashes_by_size"].items())
        if 1 <= n <= size
    )


@pytest.mark.parametrize("vector", VECTORS["inclusion_proofs"], ids=str)
def test_inclusion_proof_is_the_published_vector(db: None, vector: dict) -> None:
    _vector_log(8)

    proof = inclusion_proof_get(leaf_index=vector["leaf_index"], tree_size=vector["tree_size"])

    assert [h.hex() for h in proof.path] == vector["proof"]
    assert proof.checkpoint.root_hash == VECTORS["root_hashes_by_size"][str(vector["tree_size"])]


@pytest.mark.parametrize("vector", VECTORS["consistency_proofs"], ids=str)
def test_consistency_proof_is_the_published_vector(db: None, vector: dict) -> None:
    _vector_log(8)

    answer = consistency_proof_get(first=vector["first"], second=vector["second"])

    assert answer["consistency_path"] == vector["proof"]


def test_proof_reads_kept_subtree_hashes_not_every_leaf(
    db: None, django_assert_max_num_queries: object
) -> None:
    _seal_one_at_a_time(_entries(1))
    ledger_seal()
    _entries(1000)
    ledger_seal()
    ledger_nodes_extend()
    # 1000 leaves: 500 + 250 + 125 + 62 + 31 + 15 + 7 + 3 + 1 perfect subtrees of 2 and more.
    assert LedgerNode.objects.count() == 994

    with django_assert_max_num_queries(8):  # type: ignore[operator]
        proof = inclusion_proof_get(leaf_index=617, tree_size=1001)

    assert len(proof.path) == 10
