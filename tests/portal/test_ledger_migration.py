"""Migration 0012 on a ledger written under the old hash chain: the chain's columns go, the
entries stay as they were, and the sealer seals them into the tree in id order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.ledger import leaf_data, ledger_seal, ledger_tree_verify
from portal.models import AuditEvent, LedgerLeaf

BEFORE = [("portal", "0011_ledger_nodes_witnesses")]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the ledger's triggers exist on PostgreSQL"
)


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_entries_of_the_old_chain_are_kept_and_sealed_in_id_order() -> None:
    latest = _latest()
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            for n in range(3):
                cursor.execute(
                    "INSERT INTO portal_auditevent (occurred_at, actor_label, action, "
                    "object_type, object_id, before, after, request_id, previous_hash, "
                    "entry_hash) VALUES ('2026-01-02T03:04:05+00:00', 'system', 'old.entry', "
                    "'thing', %s, '{}', %s, '', %s, %s) RETURNING id",
                    [str(n), f'{{"n": {n}}}', "0" * 64 if n == 0 else f"{n - 1:064x}", f"{n:064x}"],
                )
    finally:
        _migrate(latest)

    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    result = ledger_seal()

    assert len(ids) == 3
    assert result.sealed == 3
    leaves = list(LedgerLeaf.objects.order_by("leaf_index").values_list("event_id", flat=True))
    assert leaves == ids
    first = AuditEvent.objects.get(pk=ids[0])
    assert (first.action, first.object_id, first.after) == ("old.entry", "0", {"n": 0})
    assert leaf_data(first).decode() == (
        f'{{"action":"old.entry","actor_id":null,"actor_label":"system","after":{{"n":0}},'
        f'"before":{{}},"id":{ids[0]},"object_id":"0","object_type":"thing",'
        '"occurred_at":"2026-01-02T03:04:05+00:00","request_id":""}'
    )
    assert ledger_tree_verify().problem is None
    columns = {
        c.name
        for c in connection.introspection.get_table_description(
            connection.cursor(), "portal_auditevent"
        )
    }
    assert "previous_hash" not in columns
    assert "entry_hash" not in columns
