"""portal.audit.state_version: what caches are keyed by. It moves when a state change commits,
even one that drew its audit id before a newer, already committed change (no lock orders the
writers any more), and stays put through entries that only record reads."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, connections, transaction

from portal.audit import audit_log, state_version, state_version_sql
from portal.ledger import ledger_seal
from portal.models import AuditEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]


def _change(n: object) -> AuditEvent:
    return audit_log(actor=None, action="test.change", object_type="thing", object_id=str(n))


def _read(n: object) -> AuditEvent:
    return audit_log(
        actor=None, action="test.read", object_type="thing", object_id=str(n), changes_state=False
    )


def _changes_now() -> int:
    return AuditEvent.objects.filter(action="test.change").count()


class _OpenWriter:
    """A state change whose transaction stays open (its audit id drawn) until released."""

    def __init__(self, n: object) -> None:
        self.drawn, self.release = threading.Event(), threading.Event()
        self.entry: AuditEvent | None = None
        self.thread = threading.Thread(target=self._run, args=(n,))
        self.thread.start()
        assert self.drawn.wait(30)

    def _run(self, n: object) -> None:
        try:
            with transaction.atomic():
                self.entry = _change(n)
                self.drawn.set()
                self.release.wait(30)
        finally:
            connections.close_all()

    def commit(self) -> None:
        self.release.set()
        self.thread.join()


def test_version_of_an_empty_ledger_is_zero() -> None:
    assert state_version() == "0"


def test_late_commit_of_an_older_id_moves_the_version() -> None:
    late = _OpenWriter("late")
    try:
        newer = _change("newer")
        assert late.entry is not None
        assert late.entry.pk < newer.pk
        before = state_version()
        cache = {before: _changes_now()}  # an answer cached without the late change
    finally:
        late.commit()

    after = state_version()

    # The largest id is still `newer`'s: a version built from it alone would serve the
    # cached answer, which misses the late change.
    assert after != before
    assert cache.get(after) is None
    assert _changes_now() == 2


def test_version_settles_once_the_sealer_passes_and_reads_leave_it() -> None:
    late = _OpenWriter("late")
    newer = _change("newer")
    late.commit()
    while ledger_seal().sealed:
        pass
    ledger_seal()  # the sealer's mark moves one seal after its horizon has passed

    settled = state_version()
    _read("a beacon query")
    ledger_seal()

    assert settled == str(newer.pk)
    assert state_version() == settled
    _change("another")
    assert state_version() not in (settled, "0")


def test_unsettled_version_differs_from_the_settled_one_for_the_same_newest_change() -> None:
    change = _change(1)
    unsettled = state_version()
    ledger_seal()
    ledger_seal()

    assert unsettled.startswith(f"{change.pk}@")
    assert len(unsettled) <= 64  # a delivery keeps it (Delivery.consent_stamp)
    assert state_version() == str(change.pk)


def test_version_read_within_another_query_is_the_same_expression() -> None:
    _change(1)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {state_version_sql()}, {state_version_sql()}")
        first, second = cursor.fetchone()
    # Unsettled, it names the snapshot: equal within one statement, and only by chance across
    # two on a busy server.
    assert first == second
    assert "@" in first
    ledger_seal()
    ledger_seal()

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {state_version_sql()}")
        (settled,) = cursor.fetchone()

    assert settled == state_version() == first.split("@")[0]


def test_readers_caching_under_the_version_never_serve_a_missing_change() -> None:
    """Writers hold their transactions open for random moments (so ids commit out of order),
    a sealer runs, and readers cache "how many changes" under the version read before
    counting, as DRS does. Whenever a reader finds an answer cached under the version it
    read, the answer must include every change visible in the snapshot the version came from
    (the count read in the same statement); an answer from later is allowed."""
    errors: list[BaseException] = []
    stale: list[tuple[str, int, int]] = []
    cache: dict[str, int] = {}
    hits = [0]
    stop = threading.Event()
    sql = f"SELECT {state_version_sql()}, (SELECT count(*) FROM portal_auditevent WHERE action = 'test.change')"  # noqa: E501, S608

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for n in range(20):
                with transaction.atomic():
                    _change(f"{worker}-{n}")
                    stop.wait(rng.random() * 0.02)
                if n % 3 == 0:
                    _read(f"{worker}-{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def reader() -> None:
        try:
            while not stop.is_set():
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    version, visible = cursor.fetchone()
                known = cache.get(version)
                if known is not None:
                    hits[0] += 1
                    if known < visible:
                        stale.append((version, known, visible))
                else:
                    cache[version] = _changes_now()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def sealer() -> None:
        try:
            while not stop.is_set():
                ledger_seal()
                stop.wait(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    others = [threading.Thread(target=reader) for _ in range(4)]
    others.append(threading.Thread(target=sealer))
    for thread in [*writers, *others]:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in others:
        thread.join()

    assert not errors
    assert stale == []
    assert _changes_now() == 120
    final = state_version()
    if final in cache:
        assert cache[final] == 120
