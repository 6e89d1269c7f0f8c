"""The transparency log's proofs on PostgreSQL over 1,000,000 leaves (50,000 with BENCH_QUICK).

(a) Catching up the kept subtree hashes (`ledger_nodes_extend`) for the whole log at once,
    as after migrating an existing ledger (the seal task then extends them by one seal's
    leaves at a time).
(b) Inclusion and consistency proofs between signed checkpoints from the kept hashes
    (`portal.proofs`), median over random leaves and sizes, each proof verified.
(c) The same inclusion proof computed the simple way, from every leaf hash read in order
    (`portal.merkle.inclusion_proof` over the whole tree): the reference in the same run.

The leaves are inserted directly (random leaf hashes over placeholder entries): what is
measured is the proofs, not the sealer (benchmarks/bench_ledger.py measures that).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# bench_consent sets the environment (database, settings) on import, as for bench_ledger.
from bench_consent import DB_NAME, QUICK, psql  # noqa: E402

LEAVES = 50_000 if QUICK else 1_000_000
PROOFS = 200


def fill(size: int) -> None:
    """`size` entries and leaves, and checkpoints at every 1/8 of the log (roots from the
    kept hashes are not used: each checkpoint's root is computed by portal.merkle)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "INSERT INTO portal_auditevent (id, occurred_at, actor_label, action, object_type, "
            "object_id, before, after, request_id, changes_state) "
            "SELECT n, now(), 'system', 'bench.proof', 'thing', n::text, '{}', '{}', '', true "
            "FROM generate_series(1, %s) AS n",
            [size],
        )
        cursor.execute(
            "INSERT INTO portal_ledgerleaf (leaf_index, event_id, leaf_hash) "
            "SELECT n - 1, n, md5(n::text) || md5((n * 7)::text) FROM generate_series(1, %s) n",
            [size],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE portal_ledgerleaf")


def leaf_hashes(size: int) -> list[bytes]:
    from portal.models import LedgerLeaf

    return [
        bytes.fromhex(h)
        for h in LedgerLeaf.objects.filter(leaf_index__lt=size)
        .order_by("leaf_index")
        .values_list("leaf_hash", flat=True)
        .iterator(chunk_size=10_000)
    ]


def sign_checkpoints(hashes: list[bytes]) -> list[int]:
    from portal import merkle
    from portal.ledger import ledger_origin, ledger_signer
    from portal.models import LedgerCheckpoint, LedgerState
    from portal.signed_note import Checkpoint, note_sign

    sizes = [len(hashes) * k // 8 for k in range(1, 9)]
    frontier: list[bytes] = []
    rows = []
    for size, leaf in enumerate(hashes):
        frontier = merkle.frontier_append(frontier, size, leaf)
        if size + 1 in sizes:
            root = merkle.frontier_root(frontier)
            note = note_sign(Checkpoint(ledger_origin(), size + 1, root).text, ledger_signer())
            rows.append(LedgerCheckpoint(tree_size=size + 1, root_hash=root.hex(), note=note))
    LedgerCheckpoint.objects.bulk_create(rows)
    LedgerState.objects.create(id=1, tree_size=len(hashes), frontier=[h.hex() for h in frontier])
    return sizes


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    psql(f"CREATE DATABASE {DB_NAME}")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        from portal import merkle
        from portal.models import LedgerCheckpoint, LedgerNode
        from portal.proofs import consistency_proof_get, inclusion_proof_get, ledger_nodes_extend

        call_command("migrate", verbosity=0)
        fill(LEAVES)
        hashes = leaf_hashes(LEAVES)
        sizes = sign_checkpoints(hashes)
        roots = {c.tree_size: bytes.fromhex(c.root_hash) for c in LedgerCheckpoint.objects.all()}
        extend_s = timed(ledger_nodes_extend)
        nodes = LedgerNode.objects.count()
        rng = random.Random(14)

        inclusion, queries = [], []
        for _ in range(PROOFS):
            size = rng.choice(sizes)
            index = rng.randrange(size)
            before = len(connection.queries)
            start = time.perf_counter()
            proof = inclusion_proof_get(leaf_index=index, tree_size=size)
            inclusion.append(time.perf_counter() - start)
            queries.append(len(connection.queries) - before)
            merkle.verify_inclusion(index, size, hashes[index], proof.path, roots[size])
        consistency = []
        for _ in range(PROOFS):
            first, second = sorted(rng.sample(sizes, 2))
            start = time.perf_counter()
            answer = consistency_proof_get(first=first, second=second)
            consistency.append(time.perf_counter() - start)
            path = [bytes.fromhex(h) for h in answer["consistency_path"]]
            merkle.verify_consistency(first, second, roots[first], roots[second], path)

        index = rng.randrange(LEAVES)

        def whole_tree_proof() -> None:
            merkle.inclusion_proof(index, leaf_hashes(LEAVES))

        whole = statistics.median(timed(whole_tree_proof) for _ in range(3))
        inclusion_ms = statistics.median(inclusion) * 1000
        consistency_ms = statistics.median(consistency) * 1000
        connections.close_all()
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    print(
        "## Transparency log: inclusion and consistency proofs from kept subtree hashes "
        "(PostgreSQL)\n\n"
        f"{LEAVES:,} leaves, checkpoints at every eighth of the log; {PROOFS} proofs of each "
        "kind at random leaves and sizes, each verified (RFC 9162, 2.1.3.2 and 2.1.4.2).\n\n"
        "| what | figure |\n|---|---|\n"
        f"| catching up the kept hashes for the whole log once (`ledger_nodes_extend`) | "
        f"{extend_s:.1f} s ({nodes:,} subtree hashes) |\n"
        f"| inclusion proof from the kept hashes, median | {inclusion_ms:.1f} ms "
        f"({statistics.median(queries):.0f} queries) |\n"
        f"| consistency proof from the kept hashes, median | {consistency_ms:.1f} ms |\n"
        f"| the same inclusion proof from every leaf read in order, median of 3 | "
        f"{whole * 1000:,.0f} ms |\n"
        f"| ratio (every leaf / kept hashes) | {whole * 1000 / inclusion_ms:,.0f}x |\n\n"
        "The kept hashes are computed once per leaf (the seal task extends them after each "
        "seal), so a proof's cost does not grow with the log beyond its log2(n) hashes.\n"
    )


if __name__ == "__main__":
    main()
