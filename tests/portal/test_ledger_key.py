"""The transparency log's key: made by a command, served with the latest checkpoint."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from portal.ledger import ledger_seal
from portal.signed_note import checkpoint_open, signer_from_key, verifier_from_key


def test_ledger_key_new_prints_a_signer_key_and_its_verifier_key() -> None:
    out, err = StringIO(), StringIO()

    call_command("ledger_key_new", "custodian.example.org/audit-ledger", stdout=out, stderr=err)

    signer = signer_from_key(out.getvalue().strip())
    assert signer.name == "custodian.example.org/audit-ledger"
    assert err.getvalue().strip() == f"verifier key: {signer.verifier.key}"


def test_ledger_key_new_refuses_a_name_with_a_space() -> None:
    with pytest.raises(CommandError, match="cannot name a key"):
        call_command("ledger_key_new", "my log", stdout=StringIO())


def test_checkpoint_is_served_as_text_and_verifies_with_the_served_key(
    client: Client, db: None
) -> None:
    ledger_seal()

    checkpoint = client.get("/ledger/checkpoint")
    key = client.get("/ledger/key")

    assert checkpoint.status_code == 200
    assert checkpoint["Content-Type"] == "text/plain; charset=utf-8"
    assert key.status_code == 200
    opened = checkpoint_open(
        checkpoint.content.decode(), verifier_from_key(key.content.decode().strip())
    )
    assert opened.size == 0


def test_checkpoint_before_any_seal_is_a_404_saying_so(client: Client, db: None) -> None:
    response = client.get("/ledger/checkpoint")

    assert response.status_code == 404
    assert response.content.decode() == "No checkpoint has been signed yet.\n"
