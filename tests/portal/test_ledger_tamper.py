"""A checkpoint kept outside the database catches truncation, deletion, insertion,
reordering and a full rewrite with every hash recomputed (verify_audit_ledger), and the
checkpoints signed at each seal name the first entry that differs."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from portal import merkle
from portal.audit import audit_log
from portal.ledger import leaf_data, ledger_seal, ledger_tree_verify, ledger_verifier
from portal.models import AuditEvent, User
from portal.signed_note import Checkpoint, checkpoint_open, signer_generate


def _sealed_ledger(actor: User, n: int, tmp_path: Path) -> tuple[list[AuditEvent], Path]:
    """n entries, each sealed by its own seal (a checkpoint per tree size, as under light
    load); the last checkpoint kept as a file outside the database."""
    entries = []
    for i in range(n):
        entries.append(
            audit_log(actor=actor, action="test.tamper", object_type="thing", object_id=i)
        )
        checkpoint = ledger_seal().checkpoint
    assert checkpoint is not None
    kept = tmp_path / f"checkpoint-{n}.txt"
    kept.write_text(checkpoint.note, encoding="utf-8")
    return entries, kept


def _as_superuser(*statements: tuple[str, list[object]]) -> None:
    """What the database's owner can do: switch the triggers off and change anything."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


def _earlier(kept: Path) -> list[Checkpoint]:
    return [checkpoint_open(kept.read_text(encoding="utf-8"), ledger_verifier())]


def _verify(kept: Path) -> str:
    out = StringIO()
    call_command("verify_audit_ledger", "--checkpoint", str(kept), stdout=out)
    return out.getvalue()


def test_untouched_log_is_consistent_with_its_earlier_checkpoint(
    researcher: User, tmp_path: Path
) -> None:
    _, kept = _sealed_ledger(researcher, 4, tmp_path)
    audit_log(actor=researcher, action="test.later", object_type="thing", object_id=9)
    ledger_seal()

    out = _verify(kept)

    assert "transparency log intact: 5 leaves" in out
    assert "consistent with the checkpoint of tree size 4" in out


def test_truncation_is_caught(researcher: User, tmp_path: Path) -> None:
    _, kept = _sealed_ledger(researcher, 6, tmp_path)

    _as_superuser(
        ("DELETE FROM portal_ledgerleaf WHERE leaf_index >= 3", []),
        ("DELETE FROM portal_ledgercheckpoint", []),
        (
            "DELETE FROM portal_auditevent WHERE id NOT IN "
            "(SELECT event_id FROM portal_ledgerleaf)",
            [],
        ),
    )

    with pytest.raises(
        CommandError, match="holds 3 leaves but a checkpoint of tree size 6 was signed"
    ):
        _verify(kept)


def test_deleted_entry_is_caught(researcher: User, tmp_path: Path) -> None:
    entries, kept = _sealed_ledger(researcher, 5, tmp_path)

    _as_superuser(
        ("DELETE FROM portal_ledgerleaf WHERE event_id = %s", [entries[2].pk]),
        ("DELETE FROM portal_auditevent WHERE id = %s", [entries[2].pk]),
    )

    report = ledger_tree_verify(earlier=_earlier(kept))
    assert report.problem == f"leaf 2 is missing (the next leaf, 3, holds entry #{entries[3].pk})"
    with pytest.raises(CommandError, match="broken after 2 leaves: leaf 2 is missing"):
        _verify(kept)


def _rewrite_leaves(events_in_order: list[AuditEvent]) -> list[tuple[str, list[object]]]:
    """Renumber every leaf over these entries, with hashes recomputed as the owner would."""
    statements: list[tuple[str, list[object]]] = [("DELETE FROM portal_ledgerleaf", [])]
    for index, event in enumerate(events_in_order):
        statements.append(
            (
                "INSERT INTO portal_ledgerleaf (leaf_index, event_id, leaf_hash) "
                "VALUES (%s, %s, %s)",
                [index, event.pk, merkle.leaf_hash(leaf_data(event)).hex()],
            )
        )
    return statements


def test_reordering_with_recomputed_hashes_is_caught(researcher: User, tmp_path: Path) -> None:
    entries, kept = _sealed_ledger(researcher, 4, tmp_path)

    _as_superuser(*_rewrite_leaves([entries[1], entries[0], entries[2], entries[3]]))

    report = ledger_tree_verify(earlier=_earlier(kept))
    assert report.problem == (
        "the first 4 leaves do not match the checkpoint of tree size 4: the first entry that "
        f"differs is one of leaves 0 to 3 (entries #{entries[1].pk} to #{entries[3].pk})"
    )
    with pytest.raises(
        CommandError,
        match=f"tree size 1: entry #{entries[1].pk} \\(leaf 0\\) is the first that differs",
    ):
        _verify(kept)


def test_inserted_entry_is_caught(researcher: User, tmp_path: Path) -> None:
    entries, kept = _sealed_ledger(researcher, 4, tmp_path)
    extra = audit_log(actor=researcher, action="test.inserted", object_type="thing", object_id=99)

    _as_superuser(*_rewrite_leaves([entries[0], extra, *entries[1:]]))

    with pytest.raises(
        CommandError,
        match=f"tree size 2: entry #{extra.pk} \\(leaf 1\\) is the first that differs",
    ):
        _verify(kept)


def test_full_rewrite_with_recomputed_hashes_is_caught(researcher: User, tmp_path: Path) -> None:
    entries, kept = _sealed_ledger(researcher, 4, tmp_path)

    _as_superuser(
        *[
            ("UPDATE portal_auditevent SET after = %s WHERE id = %s", [json.dumps({"n": 7}), e.pk])
            for e in entries
        ]
    )
    rewritten = list(AuditEvent.objects.filter(pk__in=[e.pk for e in entries]).order_by("id"))
    _as_superuser(*_rewrite_leaves(rewritten))

    report = ledger_tree_verify(earlier=_earlier(kept))
    assert report.problem is not None
    assert "do not match the checkpoint of tree size 4" in report.problem
    with pytest.raises(
        CommandError,
        match=f"tree size 1: entry #{entries[0].pk} \\(leaf 0\\) is the first that differs",
    ):
        _verify(kept)


def test_rewrite_that_also_deletes_the_databases_checkpoints_is_narrowed_by_kept_ones(
    researcher: User, tmp_path: Path
) -> None:
    entries, kept_two = _sealed_ledger(researcher, 2, tmp_path)
    more, kept_five = _sealed_ledger(researcher, 3, tmp_path)
    entries += more

    _as_superuser(
        ("UPDATE portal_auditevent SET after = %s WHERE id = %s", ['{"n": 7}', entries[3].pk]),
        ("DELETE FROM portal_ledgercheckpoint", []),
    )
    rewritten = list(AuditEvent.objects.filter(pk__in=[e.pk for e in entries]).order_by("id"))
    _as_superuser(*_rewrite_leaves(rewritten))

    out = StringIO()
    with pytest.raises(
        CommandError,
        match=(
            "tree size 5: the first entry that differs is one of leaves 2 to 4 "
            f"\\(entries #{entries[2].pk} to #{entries[4].pk}\\)"
        ),
    ):
        call_command(
            "verify_audit_ledger",
            "--checkpoint",
            str(kept_two),
            "--checkpoint",
            str(kept_five),
            stdout=out,
        )


def test_edited_entry_without_recomputed_leaf_is_caught_without_a_checkpoint(
    researcher: User, tmp_path: Path
) -> None:
    entries, _ = _sealed_ledger(researcher, 3, tmp_path)

    _as_superuser(
        ("UPDATE portal_auditevent SET action = 'x' WHERE id = %s", [entries[1].pk]),
    )

    report = ledger_tree_verify()
    assert report.problem is not None
    assert f"entry #{entries[1].pk} (leaf 1) does not match its leaf hash" in report.problem


def test_checkpoint_signed_by_another_key_is_refused(researcher: User, tmp_path: Path) -> None:
    _, kept = _sealed_ledger(researcher, 2, tmp_path)
    other = signer_generate("someone/else")

    with pytest.raises(CommandError, match="cannot be used: no signature by key someone/else"):
        call_command("verify_audit_ledger", "--checkpoint", str(kept), "--key", other.verifier.key)
