"""verify_audit_ledger proves each earlier checkpoint (a file, or a URL where a copy is kept)
consistent with the recomputed tree by the RFC 9162 consistency proof a witness is given, and
fails if that proof does not hold."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from portal.audit import audit_log
from portal.ledger import ledger_seal


def _log_with_kept_checkpoints(tmp_path: Path) -> list[Path]:
    kept = []
    for batch in (3, 5, 2):
        for i in range(batch):
            audit_log(actor=None, action="test.proof", object_type="thing", object_id=i)
        checkpoint = ledger_seal().checkpoint
        assert checkpoint is not None
        path = tmp_path / f"checkpoint-{checkpoint.tree_size}.txt"
        path.write_text(checkpoint.note, encoding="utf-8")
        kept.append(path)
    return kept


def _verify(*files: Path) -> str:
    out = StringIO()
    args = [arg for f in files for arg in ("--checkpoint", str(f))]
    call_command("verify_audit_ledger", *args, stdout=out)
    return out.getvalue()


def test_each_earlier_checkpoint_is_proved_consistent(db: None, tmp_path: Path) -> None:
    three, eight, ten = _log_with_kept_checkpoints(tmp_path)

    out = _verify(three, eight, ten)

    # 3 to 10: PROOF(3, D[10]) = [leaf 2, leaf 3, MTH(leaves 0-1), MTH(leaves 4-7), MTH(8-9)].
    assert "consistent with the checkpoint of tree size 3 (consistency proof of 5 hashes" in out
    # 8 to 10: a perfect first tree is left out of its own proof: [MTH(leaves 8-9)].
    assert "consistent with the checkpoint of tree size 8 (consistency proof of 1 hashes" in out
    assert "consistent with the checkpoint of tree size 10 (consistency proof of 0 hashes" in out


def test_a_consistency_proof_that_fails_is_reported(db: None, tmp_path: Path) -> None:
    three, _, _ = _log_with_kept_checkpoints(tmp_path)
    _verify(three)  # keeps the subtree hashes the proofs are built from
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE portal_ledgernode SET node_hash = md5(node_hash) || md5(node_hash) "
            "WHERE level = 2 AND index = 1"
        )
        cursor.execute("SET session_replication_role = DEFAULT")

    with pytest.raises(CommandError) as refused:
        _verify(three)

    assert str(refused.value) == (
        "the consistency proof from the checkpoint of tree size 3 fails: "
        "the proof does not lead to the root of the tree of 10"
    )


@pytest.fixture
def copy_keeper(tmp_path: Path) -> Iterator[str]:
    """Someone else's web server keeping copies of checkpoints (a real local HTTP server)."""
    kept = tmp_path / "kept"
    kept.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(kept))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_checkpoint_kept_at_a_url_is_fetched_and_proved(
    db: None, tmp_path: Path, copy_keeper: str
) -> None:
    three, _, _ = _log_with_kept_checkpoints(tmp_path)
    (tmp_path / "kept" / "custodian.txt").write_text(three.read_text())

    out = _verify_url(f"{copy_keeper}/custodian.txt")

    assert "consistent with the checkpoint of tree size 3 (consistency proof of 5 hashes" in out


def test_a_url_without_a_checkpoint_is_an_error_in_words(
    db: None, tmp_path: Path, copy_keeper: str
) -> None:
    _log_with_kept_checkpoints(tmp_path)

    with pytest.raises(CommandError) as refused:
        _verify_url(f"{copy_keeper}/missing.txt")

    assert str(refused.value) == (
        f"checkpoint {copy_keeper}/missing.txt cannot be used: HTTP Error 404: File not found"
    )


def _verify_url(url: str) -> str:
    out = StringIO()
    call_command("verify_audit_ledger", "--checkpoint", url, stdout=out)
    return out.getvalue()
