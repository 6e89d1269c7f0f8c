"""The transparency log on PostgreSQL: appends without a global lock, sealing lag, verification.

(a) Consent updates over HTTP, 32 clients, 30 s, gunicorn, while a sealer process runs
    `ledger_seal` every 2 s as beat does (portal/celery.py), against one client in the same
    run, and the same clients against the code as the issue found it (from git); afterwards
    every entry has exactly one leaf and the tree verifies. Sealing lag: from each entry's
    time (taken before its transaction commits, so the lag is if anything overstated) to the
    signing of the first checkpoint whose tree holds its leaf.
(b) The same updates with the consent service's `audit_log` as it is and switched off (a
    no-op), in rounds ordered off, on, on, off: from the clients of (a) over HTTP, and from
    the service alone (`consent_record`, no HTTP) in 32 threads in 4 processes.
(c) `verify_audit_ledger --checkpoint` over 1,000,000 entries (every leaf recomputed from its
    entry, the tree from the leaves, checked against a signed checkpoint), against
    `sha256sum` over the same bytes (the leaves' data, one after another).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_consent  # noqa: E402 - sets the environment (database, settings) first

QUICK = bench_consent.QUICK
bench_consent.PARTICIPANTS = 2_000
ENTRIES = 50_000 if QUICK else 1_000_000
WRITE_SECONDS = 3 if QUICK else 8
WRITE_ROUNDS = 4
WRITE_PROCESSES, WRITE_THREADS = 4, 8
HTTP_ROUND_SECONDS = 4 if QUICK else 15
SEAL_EVERY = 2.0
# The tree as issue 14 found it: every audited write behind one global lock, chained to the
# ledger's tail, and the consent service as it was then.
OLD_CODE = "7d4d878e7ac0f2bb95bba6a9a077774c8deab1ea"


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _sealer_loop(stop_file: str) -> None:
    """A stand-in for beat and a worker: seal every SEAL_EVERY seconds until told to stop."""
    import django

    django.setup()
    from django.db import connections

    from portal.ledger import ledger_seal

    while not Path(stop_file).exists():
        ledger_seal()
        time.sleep(SEAL_EVERY)
    while ledger_seal().sealed:
        pass
    connections.close_all()


def consent_under_load(version_id: int, server_config: str | None = None) -> dict[str, Any]:
    from django.db import connections

    from portal.ledger import ledger_seal
    from portal.models import AuditEvent

    ledger_seal()
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    stop_file = tempfile.mktemp(prefix="bench-ledger-stop-")  # noqa: S306 - a flag file
    connections.close_all()
    sealer = multiprocessing.get_context("fork").Process(target=_sealer_loop, args=(stop_file,))
    sealer.start()
    load_before = _load()
    http = bench_consent.http_benchmark(version_id, server_config)
    load_after = _load()
    Path(stop_file).touch()
    sealer.join(120)
    Path(stop_file).unlink(missing_ok=True)
    return {**http, **_sealing(before), "load": f"{load_before} → {load_after}"}


def old_code_under_load() -> dict[str, Any] | None:
    """The same clients against the portal as the issue found it: its tree from git, in a
    process and database of its own. None where this checkout has no git history."""
    with tempfile.TemporaryDirectory(prefix="bench-old-code-") as tree:
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", OLD_CODE], capture_output=True, check=False
        )
        if archive.returncode != 0:
            return None
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        load_before = _load()
        child = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--old-code"],
            env={**os.environ, "BENCH_CODE": tree},
            cwd=tree,  # Celery's Django fixup puts the working directory first on sys.path
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"the old code's run failed:\n{child.stderr[-3000:]}")
        return {**json.loads(child.stdout.splitlines()[-1]), "load": f"{load_before} → {_load()}"}


@contextmanager
def _benchmark_database() -> Iterator[int]:
    """A database of its own, migrated and loaded with participants by the code under test
    (this tree, or BENCH_CODE's); yields the published consent version's id, drops it after."""
    bench_consent.psql(f"CREATE DATABASE {bench_consent.DB_NAME}")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        steward, version = bench_consent.consent_setup()
        bench_consent.build(version.pk, steward.pk)
        yield version.pk
    finally:
        from django.db import connections

        connections.close_all()
        bench_consent.psql(f"DROP DATABASE IF EXISTS {bench_consent.DB_NAME} WITH (FORCE)")


def _old_code_child() -> None:
    """Run in the old tree (BENCH_CODE): its migrations, its services, its server."""
    with _benchmark_database() as version_id:
        result = bench_consent.http_benchmark(version_id)
    print(json.dumps(result))


def _sealing(after_id: int) -> dict[str, Any]:
    from django.db.models import Count

    from portal.ledger import ledger_tree_verify
    from portal.models import AuditEvent, LedgerCheckpoint, LedgerLeaf

    checkpoints = list(
        LedgerCheckpoint.objects.order_by("tree_size").values_list("tree_size", "signed_at")
    )
    sizes = [size for size, _ in checkpoints]
    lags = []
    rows = LedgerLeaf.objects.filter(event_id__gt=after_id).values_list(
        "leaf_index", "event__occurred_at"
    )
    for index, occurred in rows.iterator(chunk_size=5000):
        # The first checkpoint whose tree holds leaf `index` has size > index.
        signed = checkpoints[bisect_right(sizes, index)][1]
        lags.append((signed - occurred).total_seconds())
    lags.sort()
    entries = AuditEvent.objects.filter(id__gt=after_id).count()
    duplicated = (
        LedgerLeaf.objects.values("event_id")
        .annotate(n=Count("leaf_index"))
        .filter(n__gt=1)
        .count()
    )
    unsealed = AuditEvent.objects.filter(ledger_leaf__isnull=True).count()
    tree = ledger_tree_verify()
    return {
        "entries": entries,
        "sealed": len(lags),
        "unsealed": unsealed,
        "duplicated": duplicated,
        "tree_ok": tree.problem is None,
        "checkpoints": sum(1 for size in sizes if size > 0),
        "lag_p50": lags[len(lags) // 2] if lags else float("nan"),
        "lag_p99": lags[int(len(lags) * 0.99)] if lags else float("nan"),
        "lag_max": lags[-1] if lags else float("nan"),
    }


def _writer_process(
    people: list[tuple[int, int]], version_id: int, seconds: float, audit: bool
) -> int:
    """Threads each updating their own participant's consent through the service."""
    from django.db import connections

    import consent.services.records as records
    from consent.models import Channel, ConsentVersion, Participant
    from portal.models import User

    if not audit:
        records.audit_log = lambda **_: None  # type: ignore[assignment,misc]
    counts = [0] * len(people)
    stop = time.monotonic() + seconds

    def client(slot: int, participant_id: int, sequence: int) -> None:
        participant = Participant.objects.get(pk=participant_id)
        actor = User.objects.get(pk=participant.user_id)
        version = ConsentVersion.objects.get(pk=version_id)
        answers = dict(participant.current_consent.answers)
        while time.monotonic() < stop:
            answers["general"] = "no" if answers["general"] == "yes" else "yes"
            record = records.consent_record(
                actor=actor,
                participant=participant,
                version=version,
                answers=answers,
                signature=actor.full_name,
                channel=Channel.API,
                expected_sequence=sequence,
                receipt=False,
            )
            sequence = record.sequence
            counts[slot] += 1
        connections.close_all()

    threads = [
        threading.Thread(target=client, args=(slot, pk, sequence))
        for slot, (pk, sequence) in enumerate(people)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def _audit_rounds(measure: Callable[[bool], tuple[int, float]]) -> dict[str, Any]:
    """`measure(audit)` gives (writes, seconds) of one round; rounds in the order off, on,
    on, off, ...: a machine whose load drifts during the run favours neither side."""
    totals = {True: [0, 0.0], False: [0, 0.0]}
    rounds: dict[int, dict[bool, float]] = {}
    load_before = _load()
    for round_ in range(WRITE_ROUNDS):
        for audit in (False, True) if round_ % 2 == 0 else (True, False):
            done, elapsed = measure(audit)
            totals[audit][0] += done
            totals[audit][1] += elapsed
            rounds.setdefault(round_, {})[audit] = done / elapsed
    rate_on = totals[True][0] / totals[True][1]
    rate_off = totals[False][0] / totals[False][1]
    return {
        "on": rate_on,
        "off": rate_off,
        "ratio": rate_on / rate_off,
        "rounds": [rounds[r][True] / rounds[r][False] for r in sorted(rounds)],
        "load": f"{load_before} → {_load()}",
    }


def audited_vs_not(version_id: int) -> dict[str, Any]:
    from django.db import connections
    from django.db.models import F

    from consent.models import Participant

    pool = list(
        Participant.objects.filter(current_consent__status="active")
        .order_by("-pk")
        .values_list("pk", "current_consent__sequence")[: WRITE_PROCESSES * WRITE_THREADS]
    )
    groups = [pool[i::WRITE_PROCESSES] for i in range(WRITE_PROCESSES)]

    def measure(audit: bool) -> tuple[int, float]:
        sequences = dict(
            Participant.objects.filter(pk__in=[pk for pk, _ in pool]).values_list(
                "pk", F("current_consent__sequence")
            )
        )
        args = [
            ([(pk, sequences[pk]) for pk, _ in group], version_id, WRITE_SECONDS, audit)
            for group in groups
        ]
        connections.close_all()
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(WRITE_PROCESSES) as workers:
            done = sum(workers.starmap(_writer_process, args))
        return done, time.perf_counter() - started

    return _audit_rounds(measure)


def audited_vs_not_http(version_id: int) -> dict[str, Any]:
    """(b) over HTTP: the clients of (a) against the server with auditing as it is and
    switched off (no_audit_gunicorn.py)."""

    def measure(audit: bool) -> tuple[int, float]:
        run = bench_consent.http_benchmark(
            version_id,
            None if audit else str(HERE / "no_audit_gunicorn.py"),
            seconds=HTTP_ROUND_SECONDS,
            solo_seconds=0,
        )
        if not run["exact"]:
            raise SystemExit("an accepted update is missing from the records")
        return int(run["accepted"]), run["accepted"] / run["throughput"]

    return _audit_rounds(measure)


def verify_million() -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from portal import merkle
    from portal.audit import canonical_json
    from portal.ledger import ledger_origin, ledger_signer
    from portal.models import LedgerCheckpoint
    from portal.signed_note import Checkpoint, note_sign

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(leaf_index) + 1, 0) FROM portal_ledgerleaf")
        first_leaf = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM portal_auditevent")
        first_id = cursor.fetchone()[0] + 1
    # The tree so far (entries (a) and (b) wrote), then a million more.
    from portal.models import LedgerState

    state = LedgerState.objects.get()
    assert state.tree_size == first_leaf, "the earlier entries must be sealed first"
    frontier = [bytes.fromhex(h) for h in state.frontier]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    events, leaves = io.StringIO(), io.StringIO()
    data_file = Path(tempfile.mkdtemp(prefix="bench-ledger-")) / "leaves.bin"
    start = time.perf_counter()
    with data_file.open("wb") as data_out:
        for n in range(ENTRIES):
            entry_id = first_id + n
            occurred = (base + timedelta(microseconds=n * 997)).isoformat()
            after = {"n": n, "note": "a typical entry's after-state"}
            # portal.ledger.leaf_data of the entry, spelled out: building a million model
            # instances costs more than the rest. The verifier recomputes it from the rows,
            # so a mismatch would fail the run.
            data = canonical_json(
                {
                    "id": entry_id,
                    "occurred_at": occurred,
                    "actor_id": None,
                    "actor_label": "system",
                    "action": "bench.entry",
                    "object_type": "portal.thing",
                    "object_id": str(n),
                    "before": {},
                    "after": after,
                    "request_id": f"req-{n:08x}",
                }
            ).encode()
            data_out.write(data)
            leaf = merkle.leaf_hash(data)
            frontier = merkle.frontier_append(frontier, first_leaf + n, leaf)
            events.write(
                f"{entry_id}\t{occurred}\t\\N\tsystem\tbench.entry\tportal.thing\t{n}\t{{}}\t"
                f"{canonical_json(after)}\treq-{n:08x}\tt\n"
            )
            leaves.write(f"{first_leaf + n}\t{entry_id}\t{leaf.hex()}\n")
    size = first_leaf + ENTRIES
    root = merkle.frontier_root(frontier)
    note = note_sign(Checkpoint(ledger_origin(), size, root).text, ledger_signer())
    prepare = time.perf_counter() - start
    start = time.perf_counter()
    with connection.cursor() as cursor:
        # A bulk load, as an import would: the rows are consistent by construction.
        cursor.execute("SET session_replication_role = replica")
        for table, columns, buffer in (
            (
                "portal_auditevent",
                "id, occurred_at, actor_id, actor_label, action, object_type, object_id, "
                "before, after, request_id, changes_state",
                events,
            ),
            ("portal_ledgerleaf", "leaf_index, event_id, leaf_hash", leaves),
        ):
            buffer.seek(0)
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE portal_auditevent")
        cursor.execute("ANALYZE portal_ledgerleaf")
    LedgerCheckpoint.objects.create(tree_size=size, root_hash=root.hex(), note=note)
    load_time = time.perf_counter() - start
    kept = data_file.with_name("checkpoint.txt")
    kept.write_text(note, encoding="utf-8")
    subprocess.run(["cat", str(data_file)], stdout=subprocess.DEVNULL, check=True)  # page cache
    load_before = _load()
    start = time.perf_counter()
    out = io.StringIO()
    call_command("verify_audit_ledger", "--checkpoint", str(kept), stdout=out)
    verify = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(data_file)], check=True, capture_output=True)
    sha = time.perf_counter() - start
    megabytes = data_file.stat().st_size / 1e6
    data_file.unlink()
    kept.unlink()
    data_file.parent.rmdir()
    assert f"transparency log intact: {size} leaves" in out.getvalue(), out.getvalue()
    return {
        "size": size,
        "megabytes": megabytes,
        "prepare": prepare,
        "copy": load_time,
        "verify": verify,
        "sha": sha,
        "load": f"{load_before} → {_load()}",
    }


def main() -> None:
    with _benchmark_database() as version_id:
        # The old code first, then the old path in this code, then this code: the last run
        # has the most records to pass.
        old_code = old_code_under_load()
        old_path = consent_under_load(version_id, str(HERE / "global_lock_gunicorn.py"))
        http = consent_under_load(version_id)
        writes_http = audited_vs_not_http(version_id)
        writes = audited_vs_not(version_id)
        from portal.ledger import ledger_seal

        while ledger_seal().sealed:
            pass
        verify = verify_million()
    report(old_code, old_path, http, writes_http, writes, verify)


def report(
    old_code: dict[str, Any] | None,
    old_path: dict[str, Any],
    http: dict[str, Any],
    writes_http: dict[str, Any],
    writes: dict[str, Any],
    verify: dict[str, Any],
) -> None:
    print("## Transparency log: appends without a lock, sealing lag, verification (PostgreSQL)\n")
    print(" ".join(__doc__.strip().split("\n\n", 1)[1].split()) + "\n")
    print(
        "The machine was shared with other work while this ran: the load average (1, 5 and "
        "15 minutes) is given with each part, before → after. Compare within a part.\n"
    )
    rate_ratio = http["throughput"] / http["solo_rate"]
    print(
        f"### (a) Consent updates over HTTP: {bench_consent.HTTP_CLIENTS} clients, "
        f"{bench_consent.HTTP_SECONDS} s, gunicorn 4 sync workers, sealer every {SEAL_EVERY:.0f} s\n"
    )
    print(
        "| code path | requests | refused as stale (409) | accepted/s | one client, accepted/s "
        "| ratio | p50 ms | p99 ms | "
        "records exact | entries | sealed once each | sealing lag p50 / p99 / max s | load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|")
    if old_code is not None:
        print(
            f"| old code: the tree as the issue found it (`{OLD_CODE[:7]}`, from git) | "
            f"{old_code['requests']:,} | {old_code['stale']:,} | {old_code['throughput']:.0f} | "
            f"{old_code['solo_rate']:.0f} | {old_code['throughput'] / old_code['solo_rate']:.1f}× | "
            f"{old_code['p50']:.0f} | {old_code['p99']:.0f} | "
            f"{'yes' if old_code['exact'] else 'NO'} | – | – (no log then) | – | "
            f"{old_code['load']} |"
        )
    for name, run in (
        ("this code with the old lock put back (global_lock_gunicorn.py)", old_path),
        ("**this code: no lock, sealed afterwards**", http),
    ):
        once = (
            run["unsealed"] == 0
            and run["duplicated"] == 0
            and run["sealed"] == run["entries"]
            and run["tree_ok"]
        )
        run["once"] = once
        print(
            f"| {name} | {run['requests']:,} | {run['stale']:,} | {run['throughput']:.0f} | "
            f"{run['solo_rate']:.0f} | "
            f"{run['throughput'] / run['solo_rate']:.1f}× | {run['p50']:.0f} | {run['p99']:.0f} | "
            f"{'yes' if run['exact'] else 'NO'} | {run['entries']:,} | {'yes' if once else 'NO'} | "
            f"{run['lag_p50']:.1f} / {run['lag_p99']:.1f} / {run['lag_max']:.1f} | {run['load']} |"
        )
    against_lock = http["throughput"] / old_path["throughput"]
    against_old = http["throughput"] / old_code["throughput"] if old_code else float("nan")
    met_rate = against_old >= 2 or rate_ratio >= 3
    met_p99 = http["p99"] < 250
    met_lag = http["lag_p99"] < 5
    print(
        f"\nTargets: accepted/s at least 2× the old code path's in the same run "
        f"({against_old:.2f}×; against this code with the old lock put back, "
        f"{against_lock:.2f}×) or at least 3× the one-client rate ({rate_ratio:.1f}×): "
        f"{'met' if met_rate else 'NOT met'}; p99 under 250 ms: "
        f"{'met' if met_p99 else 'NOT met'}; nothing lost (every accepted update is a record, "
        f"every entry one leaf, the tree verifies): "
        f"{'met' if http['exact'] and http['once'] else 'NOT met'}; "
        f"sealing lag p99 under 5 s: {'met' if met_lag else 'NOT met'}. "
        f"{http['checkpoints']} checkpoints were signed during the run.\n"
    )
    print(f"### (b) Audited writes vs auditing switched off: {WRITE_ROUNDS} rounds each way\n")
    print(
        "| writers | seconds a round | writes/s audited | writes/s without audit | ratio "
        "| ratio in each round | load |\n|---|---:|---:|---:|---:|---|---|"
    )
    for name, seconds, run in (
        (
            f"{bench_consent.HTTP_CLIENTS} HTTP clients, gunicorn 4 sync workers, as in (a)",
            HTTP_ROUND_SECONDS,
            writes_http,
        ),
        (
            f"the service alone: {WRITE_PROCESSES * WRITE_THREADS} threads in "
            f"{WRITE_PROCESSES} processes",
            WRITE_SECONDS,
            writes,
        ),
    ):
        print(
            f"| {name} | {seconds} | {run['on']:.0f} | {run['off']:.0f} | {run['ratio']:.2f} | "
            f"{', '.join(f'{r:.2f}' for r in run['rounds'])} | {run['load']} |"
        )
    print(
        f"\nTarget: ratio at least 0.9 for 32 clients: "
        f"{'met' if writes_http['ratio'] >= 0.9 else 'NOT met'} ({writes_http['ratio']:.2f}); "
        f"for the service alone, without HTTP, {writes['ratio']:.2f}. An audited write adds "
        "one INSERT to its own transaction and waits for no other writer.\n"
    )
    print(f"### (c) verify_audit_ledger over {verify['size']:,} entries\n")
    print("| step | seconds |\n|---|---:|")
    print(f"| build the entries and leaves in Python | {verify['prepare']:.1f} |")
    print(f"| COPY them into PostgreSQL | {verify['copy']:.1f} |")
    print(f"| **`verify_audit_ledger --checkpoint`** | **{verify['verify']:.1f}** |")
    print(
        f"| `sha256sum` of the same bytes ({verify['megabytes']:.0f} MB of leaf data, page cache) "
        f"| {verify['sha']:.2f} |"
    )
    print(
        f"\nRatio to `sha256sum`: {verify['verify'] / verify['sha']:.0f}× (load "
        f"{verify['load']}). The verifier reads every entry from PostgreSQL, rebuilds its "
        "canonical JSON and leaf hash in Python and folds it into the tree; `sha256sum` only "
        "hashes bytes already in memory."
    )


if __name__ == "__main__":
    if "--old-code" in sys.argv:
        _old_code_child()
    else:
        main()
