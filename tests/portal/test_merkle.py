"""RFC 9162 Merkle proofs: published vectors, every small tree, random larger ones.

The expected roots come from the published vectors or from `_reference_root`, a direct
transcription of MTH's recursive definition (RFC 9162, 2.1.1); the module computes roots
level by level and verifies proofs by the iterative algorithms, so the two must agree.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import merkle
from portal.merkle import ProofError

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "transparency-dev-merkle" / "vectors.json").read_text()
)
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]
ROOTS = {int(size): bytes.fromhex(h) for size, h in VECTORS["root_hashes_by_size"].items()}


def _reference_root(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < len(data):
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_root(data[:k]) + _reference_root(data[k:])).digest()


def _data(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x08]) + value[1:]


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.node_hash(merkle.leaf_hash(b""), merkle.leaf_hash(b"\x00")) == bytes.fromhex(
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
    )


@pytest.mark.parametrize("size", range(9))
def test_root_matches_published_vector(size: int) -> None:
    hashes = [merkle.leaf_hash(d) for d in LEAVES[:size]]

    assert merkle.root(hashes) == ROOTS[size]


@pytest.mark.parametrize("vector", VECTORS["inclusion_proofs"], ids=str)
def test_inclusion_proof_matches_published_vector(vector: dict) -> None:
    size, index = vector["tree_size"], vector["leaf_index"]
    hashes = [merkle.leaf_hash(d) for d in LEAVES[:size]]
    expected = [bytes.fromhex(h) for h in vector["proof"]]

    assert merkle.inclusion_proof(index, hashes) == expected
    merkle.verify_inclusion(index, size, hashes[index], expected, ROOTS[size])


@pytest.mark.parametrize("vector", VECTORS["consistency_proofs"], ids=str)
def test_consistency_proof_matches_published_vector(vector: dict) -> None:
    first, second = vector["first"], vector["second"]
    hashes = [merkle.leaf_hash(d) for d in LEAVES[:second]]
    expected = [bytes.fromhex(h) for h in vector["proof"]]

    assert merkle.consistency_proof(first, hashes) == expected
    merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], expected)


def test_every_inclusion_proof_up_to_64_leaves_verifies_and_tampering_fails() -> None:
    for size in range(1, 65):
        data = _data(size)
        hashes = [merkle.leaf_hash(d) for d in data]
        expected_root = _reference_root(data)
        assert merkle.root(hashes) == expected_root, size
        for index in range(size):
            proof = merkle.inclusion_proof(index, hashes)
            merkle.verify_inclusion(index, size, hashes[index], proof, expected_root)
            tampered = [
                (index, size, _flip(hashes[index]), proof),
                (index, size * 2, hashes[index], proof),
                (index + 1, size, hashes[index], proof),
                (index, size, hashes[index], [*proof, expected_root]),
                *[
                    (index, size, hashes[index], [*proof[:i], _flip(p), *proof[i + 1 :]])
                    for i, p in enumerate(proof)
                ],
            ]
            if proof:
                tampered.append((index, size, hashes[index], proof[:-1]))
            for t_index, t_size, t_leaf, t_proof in tampered:
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(t_index, t_size, t_leaf, t_proof, expected_root)


def test_every_consistency_proof_up_to_64_leaves_verifies_and_tampering_fails() -> None:
    data = _data(64)
    hashes = [merkle.leaf_hash(d) for d in data]
    roots = [_reference_root(data[:n]) for n in range(65)]
    for second in range(1, 65):
        for first in range(1, second + 1):
            proof = merkle.consistency_proof(first, hashes[:second])
            merkle.verify_consistency(first, second, roots[first], roots[second], proof)
            if first == second:
                continue
            rewritten = _reference_root([*data[: first - 1], b"rewritten"])
            tampered = [
                (first, second, rewritten, roots[second], proof),
                (first, second, roots[first], _flip(roots[second]), proof),
                (first, second * 2, roots[first], roots[second], proof),
                (first, second, roots[first], roots[second], [*proof, roots[second]]),
                (first, second, roots[first], roots[second], proof[:-1]),
                *[
                    (
                        first,
                        second,
                        roots[first],
                        roots[second],
                        [*proof[:i], _flip(p), *proof[i + 1 :]],
                    )
                    for i, p in enumerate(proof)
                ],
            ]
            for t_first, t_second, t_root1, t_root2, t_proof in tampered:
                with pytest.raises(ProofError):
                    merkle.verify_consistency(t_first, t_second, t_root1, t_root2, t_proof)


def test_shrunk_tree_is_not_consistent() -> None:
    hashes = [merkle.leaf_hash(d) for d in _data(5)]

    with pytest.raises(ProofError, match="cannot extend"):
        merkle.verify_consistency(5, 4, merkle.root(hashes), merkle.root(hashes[:4]), [])


def test_same_size_with_another_root_is_not_consistent() -> None:
    with pytest.raises(ProofError, match="two different roots"):
        merkle.verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])


def test_proof_for_leaf_outside_tree_is_refused() -> None:
    hashes = [merkle.leaf_hash(d) for d in _data(3)]

    with pytest.raises(ProofError, match="not in a tree of 3"):
        merkle.inclusion_proof(3, hashes)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(65, 700), data=st.data())
def test_random_larger_trees_prove_inclusion_and_consistency(
    size: int, data: st.DataObject
) -> None:
    leaves = _data(size)
    hashes = [merkle.leaf_hash(d) for d in leaves]
    expected_root = _reference_root(leaves)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))

    proof = merkle.inclusion_proof(index, hashes)
    merkle.verify_inclusion(index, size, hashes[index], proof, expected_root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(index, size, merkle.leaf_hash(b"other"), proof, expected_root)

    consistency = merkle.consistency_proof(first, hashes)
    merkle.verify_consistency(
        first, size, _reference_root(leaves[:first]), expected_root, consistency
    )
    if first < size:
        with pytest.raises(ProofError):
            merkle.verify_consistency(
                first, size, _reference_root(leaves[: first - 1]), expected_root, consistency
            )


def test_frontier_gives_the_same_root_as_the_whole_tree_up_to_64_leaves() -> None:
    data = _data(64)
    frontier: list[bytes] = []
    assert merkle.frontier_root(frontier) == _reference_root([])
    for size in range(64):
        frontier = merkle.frontier_append(frontier, size, merkle.leaf_hash(data[size]))
        assert merkle.frontier_root(frontier) == _reference_root(data[: size + 1]), size
        assert len(frontier) == bin(size + 1).count("1")
