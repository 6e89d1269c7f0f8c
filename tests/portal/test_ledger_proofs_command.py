"""manage.py ledger_proof inclusion|consistency: the API's proofs on the command line;
bad input exits non-zero with a message in words."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.audit import audit_log
from portal.ledger import leaf_data, ledger_seal
from portal.models import AuditEvent
from tests.portal import rfc9162


def _log(*batches: int) -> list[AuditEvent]:
    entries = []
    for batch in batches:
        entries += [
            audit_log(actor=None, action="test.proof", object_type="thing", object_id=i)
            for i in range(batch)
        ]
        ledger_seal()
    return entries


def _run(*args: str) -> dict:
    out = StringIO()
    call_command("ledger_proof", *args, stdout=out)
    return json.loads(out.getvalue())


def test_inclusion_proof_of_an_entry(db: None) -> None:
    entries = _log(5)

    body = _run("inclusion", "--entry", str(entries[2].pk))

    data = [leaf_data(e) for e in entries]
    path = [bytes.fromhex(h) for h in body["inclusion_path"]]
    assert rfc9162.verify_inclusion(2, 5, rfc9162.leaf(data[2]), path, rfc9162.mth(data))


def test_consistency_proof_to_the_latest(db: None) -> None:
    entries = _log(2, 3)

    body = _run("consistency", "2")

    data = [leaf_data(e) for e in entries]
    path = [bytes.fromhex(h) for h in body["consistency_path"]]
    assert body["second"] == 5
    assert rfc9162.verify_consistency(2, 5, rfc9162.mth(data[:2]), rfc9162.mth(data), path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("inclusion", "--entry", "999999"), "There is no audit entry #999999."),
        (("consistency", "5", "2"), "first (5) is larger than second (2)"),
        (("consistency", "0"), "The empty tree (size 0) proves nothing"),
        (("consistency", "2", "9"), "second 9 is beyond the log"),
        (("inclusion", "--leaf-index", "0", "--tree-size", "0"), "The empty tree (size 0)"),
    ],
)
def test_bad_input_is_a_command_error_in_words(db: None, args: tuple, message: str) -> None:
    _log(2, 3)

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("ledger_proof", *args, stdout=StringIO())


def test_help_shows_an_example_and_bad_arguments_exit_non_zero() -> None:
    helped = subprocess.run(
        [sys.executable, "manage.py", "ledger_proof", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    refused = subprocess.run(
        [sys.executable, "manage.py", "ledger_proof", "consistency", "abc"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert helped.returncode == 0
    assert "manage.py ledger_proof consistency 100 250" in helped.stdout
    assert refused.returncode != 0
    assert "invalid _positive value: 'abc'" in refused.stderr
