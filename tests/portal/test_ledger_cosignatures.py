"""Witnesses configured with their keys answer each checkpoint with a cosignature
(c2sp.org/tlog-cosignature): checked against the key, kept with the push, and served under
the log's own signature at /ledger/checkpoint/cosigned. A witness here is a real HTTP server
that signs as the specification says, with its own Ed25519 key."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.test import Client

from portal.audit import audit_log
from portal.celery import app as celery_app
from portal.ledger import ledger_verifier
from portal.models import LedgerCheckpoint, LedgerWitnessPush, User, WitnessPushStatus
from portal.signed_note import note_open
from portal.tasks import seal_ledger_task
from portal.witnesses import WitnessError, witness_parse
from tests.conftest import signed_in_client

NAME = "witness.example.org/w1"


class CosigningWitness:
    """An add-checkpoint endpoint that cosigns what it is sent (or, told to, signs wrongly)."""

    def __init__(self, name: str = NAME) -> None:
        self.name = name
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(name.encode() + b"\n\x04" + self.public).digest()[:4]
        self.tamper = False
        self.answers: list[str] = []
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                note = body.split("\n\n", 1)[1]
                text = note.rpartition("\n\n")[0] + "\n"
                answer = witness.cosign(text)
                witness.answers.append(answer)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/add-checkpoint"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def key(self) -> str:
        encoded = base64.b64encode(b"\x04" + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def cosign(self, text: str) -> str:
        now = int(time.time())
        message = f"cosignature/v1\ntime {now}\n{text}".encode()
        if self.tamper:
            message += b"something else"
        signature = self.key_id + now.to_bytes(8, "big") + self.private.sign(message)
        return f"\u2014 {self.name} {base64.b64encode(signature).decode()}\n"


@pytest.fixture
def cosigner() -> Iterator[CosigningWitness]:
    witness = CosigningWitness()
    yield witness
    witness.server.shutdown()
    witness.server.server_close()


@pytest.fixture
def seal(django_capture_on_commit_callbacks: Any) -> Any:
    celery_app.conf.task_eager_propagates = False

    def run() -> None:
        audit_log(actor=None, action="test.cosign", object_type="thing", object_id=1)
        with django_capture_on_commit_callbacks(execute=True):
            seal_ledger_task()

    return run


def _push(url: str) -> LedgerWitnessPush:
    return LedgerWitnessPush.objects.get(witness=url)


def _verify_cosignature(note: str, witness: CosigningWitness) -> int:
    """As a client that trusts this witness would: find its line, check the signature."""
    text, _, signatures = note.rpartition("\n\n")
    for line in signatures.splitlines():
        name, encoded = line.removeprefix("\u2014 ").split(" ")
        raw = base64.b64decode(encoded)
        if name == witness.name and raw[:4] == witness.key_id:
            timestamp = int.from_bytes(raw[4:12], "big")
            message = f"cosignature/v1\ntime {timestamp}\n{text}\n".encode()
            Ed25519PublicKey.from_public_bytes(witness.public).verify(raw[12:], message)
            return timestamp
    raise AssertionError("no cosignature by the witness")


def test_a_cosigned_checkpoint_is_kept_and_served_under_the_logs_signature(
    db: None, settings: Any, cosigner: CosigningWitness, seal: Any
) -> None:
    settings.CUSTODIAN_LEDGER_WITNESSES = [f"{cosigner.url} {cosigner.key}"]
    before = int(time.time())

    seal()

    push = _push(cosigner.url)
    checkpoint = LedgerCheckpoint.objects.get(pk=push.checkpoint_id)
    assert push.status == WitnessPushStatus.DELIVERED
    assert push.cosignature == cosigner.answers[0]
    response = Client().get("/ledger/checkpoint/cosigned")
    assert response.status_code == 200
    served = response.content.decode()
    assert served == checkpoint.note + cosigner.answers[0]
    assert note_open(served, ledger_verifier()) == checkpoint.note.rpartition("\n\n")[0] + "\n"
    assert before <= _verify_cosignature(served, cosigner) <= int(time.time())


def test_an_answer_without_a_valid_cosignature_fails_the_push_in_words(
    db: None, settings: Any, cosigner: CosigningWitness, seal: Any
) -> None:
    settings.CUSTODIAN_LEDGER_WITNESSES = [f"{cosigner.url} {cosigner.key}"]
    cosigner.tamper = True

    seal()

    push = _push(cosigner.url)
    assert push.status == WitnessPushStatus.FAILED
    assert push.cosignature == ""
    assert push.last_error == (
        "the witness took the checkpoint but answered without a valid cosignature: "
        f"invalid cosignature by witness key {NAME}"
    )
    assert Client().get("/ledger/checkpoint/cosigned").status_code == 404


def test_a_cosignature_by_another_key_is_not_taken(
    db: None, settings: Any, cosigner: CosigningWitness, seal: Any
) -> None:
    other = CosigningWitness()
    settings.CUSTODIAN_LEDGER_WITNESSES = [f"{cosigner.url} {other.key}"]
    other.server.shutdown()
    other.server.server_close()

    seal()

    push = _push(cosigner.url)
    assert push.status == WitnessPushStatus.FAILED
    assert push.last_error.endswith(f"no cosignature by witness key {NAME}+{other.key_id.hex()}")


def test_a_witness_without_a_key_is_pushed_to_and_nothing_is_served_as_cosigned(
    db: None, settings: Any, cosigner: CosigningWitness, seal: Any
) -> None:
    settings.CUSTODIAN_LEDGER_WITNESSES = [cosigner.url]

    seal()

    push = _push(cosigner.url)
    assert (push.status, push.cosignature) == (WitnessPushStatus.DELIVERED, "")
    response = Client().get("/ledger/checkpoint/cosigned")
    assert response.status_code == 404
    assert response.content.decode().startswith("No witness has cosigned a checkpoint yet")


def test_stewards_see_which_witnesses_cosigned(
    db: None, settings: Any, steward: User, cosigner: CosigningWitness, seal: Any
) -> None:
    settings.CUSTODIAN_LEDGER_WITNESSES = [f"{cosigner.url} {cosigner.key}"]
    seal()

    page = signed_in_client(steward).get("/ledger/witnesses/").content.decode()

    assert "Yes, checked against its key" in page


def test_witness_entries_with_keys_are_read_and_bad_ones_refused_in_words(
    cosigner: CosigningWitness,
) -> None:
    witness = witness_parse(f"https://w.example.org/add-checkpoint {cosigner.key}")

    assert witness.target == "https://w.example.org/add-checkpoint"
    assert witness.cosigner is not None
    assert witness.cosigner.public_key == cosigner.public
    with pytest.raises(WitnessError) as email:
        witness_parse(f"ethics@example.org {cosigner.key}")
    assert str(email.value) == (
        "ethics@example.org: only an HTTPS witness answers with a cosignature"
    )
    with pytest.raises(WitnessError) as bad:
        witness_parse("https://w.example.org/add-checkpoint w1+00000000+AQ==")
    assert str(bad.value).startswith(
        "https://w.example.org/add-checkpoint: the witness key is not usable: "
    )
