"""Signed notes and checkpoints: Go's published note vectors, and a checkpoint checked by a
verifier that shares no code with the signer (RFC 8032 in plain Python, its own parser)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from portal.signed_note import (
    Checkpoint,
    NoteError,
    checkpoint_open,
    checkpoint_parse,
    note_open,
    note_sign,
    signer_from_key,
    signer_generate,
    verifier_from_key,
)
from tests.portal import ed25519_reference

GO = json.loads((Path(__file__).parent / "data" / "golang-sumdb-note" / "vectors.json").read_text())
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


def _independent_open(note: str, verifier_key: str) -> str:
    """c2sp.org/signed-note read from scratch: the text, if the named key's signature holds."""
    name, hash_hex, key_b64 = verifier_key.split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == hash_hex
    text, signatures = note.rsplit("\n\n", 1)
    text += "\n"
    for line in signatures.splitlines():
        signer_name, signature_b64 = line.removeprefix("\u2014 ").split(" ")
        raw = base64.b64decode(signature_b64)
        if signer_name == name and raw[:4].hex() == hash_hex:
            assert ed25519_reference.verify(key[1:], text.encode(), raw[4:])
            return text
    raise AssertionError("no signature by that key")


def test_reference_verifier_accepts_gos_vector_and_refuses_a_changed_text() -> None:
    _, hash_hex, key_b64 = GO["verifier_key"].split("+", 2)
    raw = base64.b64decode(GO["signed_note"].rsplit(" ", 1)[1])

    assert ed25519_reference.verify(base64.b64decode(key_b64)[1:], GO["text"].encode(), raw[4:])
    assert not ed25519_reference.verify(
        base64.b64decode(key_b64)[1:], GO["text"].replace("answer", "answers").encode(), raw[4:]
    )


def test_signer_key_from_go_signs_the_same_note_byte_for_byte() -> None:
    signer = signer_from_key(GO["signer_key"])

    assert signer.name == "PeterNeumann"
    assert signer.verifier.key == GO["verifier_key"]
    assert signer.key == GO["signer_key"]
    assert note_sign(GO["text"], signer) == GO["signed_note"]


def test_go_note_opens_with_its_verifier_key_beside_another_signature() -> None:
    note = GO["signed_note"] + GO["other_signature_line"]

    assert note_open(note, verifier_from_key(GO["verifier_key"])) == GO["text"]
    assert note_open(note, verifier_from_key(GO["other_verifier_key"])) == GO["text"]


def test_note_with_changed_text_does_not_open() -> None:
    note = GO["signed_note"].replace("problem is", "problems are")

    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        note_open(note, verifier_from_key(GO["verifier_key"]))


def test_note_without_the_keys_signature_does_not_open() -> None:
    with pytest.raises(NoteError, match="no signature by key EnochRoot\\+af0cfe78"):
        note_open(GO["signed_note"], verifier_from_key(GO["other_verifier_key"]))


@pytest.mark.parametrize(
    "key",
    [
        "",
        "PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    ],
)
def test_malformed_signer_key_is_refused_without_repeating_it(key: str) -> None:
    with pytest.raises(NoteError) as caught:
        signer_from_key(key)

    assert "AYEKFALV" not in str(caught.value)


def test_checkpoint_verifies_with_another_ed25519_implementation() -> None:
    signer = signer_generate("custodian.example.org/audit-ledger")
    checkpoint = Checkpoint("custodian.example.org/audit-ledger", 8, ROOT)

    note = note_sign(checkpoint.text, signer)

    text = _independent_open(note, signer.verifier.key)
    assert text == (
        "custodian.example.org/audit-ledger\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    )
    assert checkpoint_open(note, signer.verifier) == checkpoint


def test_checkpoint_with_another_root_fails_the_independent_verifier() -> None:
    signer = signer_generate("custodian.example.org/audit-ledger")
    note = note_sign(Checkpoint("custodian.example.org/audit-ledger", 8, ROOT).text, signer)
    forged = note.replace("XcnaeacG", "XcnaeacH")

    with pytest.raises(AssertionError):
        _independent_open(forged, signer.verifier.key)
    with pytest.raises(NoteError, match="invalid signature"):
        checkpoint_open(forged, signer.verifier)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n8\n",
        "origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ=\n",
        "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
    ],
)
def test_malformed_checkpoint_text_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        checkpoint_parse(text)
