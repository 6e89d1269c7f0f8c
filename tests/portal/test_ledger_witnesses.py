"""Checkpoints pushed to witnesses after sealing: the add-checkpoint request of
c2sp.org/tlog-witness to a real HTTP server started here (with the consistency proof from
the size the witness holds), retried when it fails on the way, FAILED and logged when it
keeps failing; and by email through Django's outbox, at most once an interval."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from portal.audit import audit_log
from portal.celery import app as celery_app
from portal.ledger import ledger_verifier
from portal.models import LedgerCheckpoint, LedgerWitnessPush, User, WitnessPushStatus
from portal.signed_note import checkpoint_open
from portal.tasks import seal_ledger_task
from portal.witnesses import WitnessError, witness_parse
from tests.conftest import signed_in_client
from tests.portal import rfc9162


class FakeWitness:
    """A witness's add-checkpoint endpoint: answers from a script, keeps each body."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.answers: list[tuple[int, str, str]] = []  # (status, content type, body)
        witness = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                witness.bodies.append(self.rfile.read(length).decode())
                status, content_type, body = (
                    witness.answers.pop(0) if witness.answers else (200, "text/plain", "— w x\n")
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/add-checkpoint"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def witness(settings: Any) -> Iterator[FakeWitness]:
    fake = FakeWitness()
    settings.CUSTODIAN_LEDGER_WITNESSES = [fake.url]
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def seal(django_capture_on_commit_callbacks: Any) -> Any:
    """The seal task, with the pushes it queues after commit run (eagerly) as well; a push's
    retries run at once (eager mode replays a retry only when errors do not propagate)."""
    celery_app.conf.task_eager_propagates = False

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            seal_ledger_task()

    return run


def _grow(n: int) -> None:
    for i in range(n):
        audit_log(actor=None, action="test.witness", object_type="thing", object_id=i)


def _push(url: str) -> LedgerWitnessPush:
    return LedgerWitnessPush.objects.filter(witness=url).order_by("-checkpoint__tree_size").first()


def test_first_checkpoint_is_pushed_with_old_size_zero(
    db: None, witness: FakeWitness, seal: Any
) -> None:
    _grow(3)

    seal()

    note = LedgerCheckpoint.objects.get(tree_size=3).note
    assert witness.bodies == [f"old 0\n\n{note}"]
    push = _push(witness.url)
    assert (push.status, push.attempts, push.last_error) == (WitnessPushStatus.DELIVERED, 1, "")


def test_later_checkpoint_carries_the_consistency_proof_from_the_size_the_witness_holds(
    db: None, witness: FakeWitness, seal: Any
) -> None:
    _grow(3)
    seal()
    _grow(4)

    seal()

    head, note = witness.bodies[1].split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "old 3"
    proof = [base64.b64decode(line) for line in lines[1:]]
    older = checkpoint_open(LedgerCheckpoint.objects.get(tree_size=3).note, ledger_verifier())
    newer = checkpoint_open(note, ledger_verifier())
    assert newer.size == 7
    assert rfc9162.verify_consistency(3, 7, older.root_hash, newer.root_hash, proof)


def test_nothing_new_is_not_pushed_again(db: None, witness: FakeWitness, seal: Any) -> None:
    _grow(2)
    seal()

    seal()

    assert len(witness.bodies) == 1


def test_witness_holding_another_size_gets_the_proof_from_that_size(
    db: None, witness: FakeWitness, settings: Any, seal: Any
) -> None:
    _grow(2)
    seal()
    _grow(3)
    # The witness holds the tree of 2 leaves; it tells us so when we send old 0.
    LedgerWitnessPush.objects.all().update(status=WitnessPushStatus.FAILED)
    witness.answers = [(409, "text/x.tlog.size", "2\n")]
    settings.CUSTODIAN_LEDGER_WITNESS_RETRY_SECONDS = 0

    seal()

    assert [body.split("\n", 1)[0] for body in witness.bodies[1:]] == ["old 0", "old 2"]
    assert _push(witness.url).status == WitnessPushStatus.DELIVERED


def test_witness_holding_a_larger_tree_is_an_error_not_an_argument(
    db: None, witness: FakeWitness, caplog: pytest.LogCaptureFixture, seal: Any
) -> None:
    _grow(2)
    witness.answers = [(409, "text/x.tlog.size", "40\n")]

    with caplog.at_level(logging.ERROR, logger="portal.witnesses"):
        seal()

    push = _push(witness.url)
    assert push.status == WitnessPushStatus.FAILED
    assert push.last_error == (
        "the witness holds a tree of 40 leaves, larger than this checkpoint's 2: the log may "
        "have been rolled back"
    )
    assert "did not take the checkpoint of tree size 2" in caplog.text


def test_push_failing_on_the_way_is_retried_until_it_is_taken(
    db: None, witness: FakeWitness, seal: Any
) -> None:
    _grow(2)
    witness.answers = [(503, "text/plain", "busy"), (502, "text/plain", "gateway")]

    seal()

    push = _push(witness.url)
    assert (push.status, push.attempts) == (WitnessPushStatus.DELIVERED, 3)
    assert len(witness.bodies) == 3


def test_push_that_keeps_failing_ends_failed_logged_and_visible(
    db: None, witness: FakeWitness, caplog: pytest.LogCaptureFixture, seal: Any
) -> None:
    _grow(2)
    witness.answers = [(503, "text/plain", "down for maintenance")] * 6

    with caplog.at_level(logging.ERROR, logger="portal.witnesses"):
        seal()

    push = _push(witness.url)
    assert (push.status, push.attempts) == (WitnessPushStatus.FAILED, 6)
    assert push.last_error == "the witness answered 503: down for maintenance"
    assert (
        f"ledger witness {witness.url} did not take the checkpoint of tree size 2 after 6 "
        "attempt(s): the witness answered 503: down for maintenance"
    ) in caplog.text


def test_refusal_is_not_retried(db: None, witness: FakeWitness, seal: Any) -> None:
    _grow(2)
    witness.answers = [(403, "text/plain", "unknown log")]

    seal()

    push = _push(witness.url)
    assert (push.status, push.attempts) == (WitnessPushStatus.FAILED, 1)
    assert push.last_error == "the witness refused the checkpoint (403): unknown log"


def test_unreachable_witness_is_retried_then_failed(db: None, settings: Any, seal: Any) -> None:
    settings.CUSTODIAN_LEDGER_WITNESSES = ["http://127.0.0.1:9/add-checkpoint"]
    _grow(1)

    seal()

    push = _push("http://127.0.0.1:9/add-checkpoint")
    assert (push.status, push.attempts) == (WitnessPushStatus.FAILED, 6)
    assert push.last_error.startswith("http://127.0.0.1:9/add-checkpoint could not be reached")


def test_email_witness_gets_the_checkpoint_at_most_once_an_interval(
    db: None, settings: Any, seal: Any
) -> None:
    settings.CUSTODIAN_LEDGER_WITNESSES = ["mailto:witness@example.org"]
    _grow(2)

    seal()
    _grow(1)
    seal()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["witness@example.org"]
    assert mail.outbox[0].subject == "Transparency log checkpoint: 2 entries"
    assert mail.outbox[0].body.endswith(LedgerCheckpoint.objects.get(tree_size=2).note)

    settings.CUSTODIAN_LEDGER_WITNESS_EMAIL_SECONDS = 0
    seal()

    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "Transparency log checkpoint: 3 entries"


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("https://witness.example.org/add-checkpoint", "https"),
        ("http://localhost:8080/add-checkpoint", "https"),
        ("mailto:ethics@example.ac.uk", "email"),
        ("ethics@example.ac.uk", "email"),
    ],
)
def test_witness_targets_are_https_or_email(target: str, kind: str) -> None:
    assert witness_parse(target).kind == kind


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "http://witness.example.org/add-checkpoint",
            "http://witness.example.org/add-checkpoint is not an HTTPS URL (plain HTTP only to "
            "this machine)",
        ),
        ("ftp://x", "'ftp://x' is neither an HTTPS URL nor an email address"),
        ("not an address", "'not an address' is neither an HTTPS URL nor an email address"),
    ],
)
def test_other_witness_targets_are_refused_in_words(target: str, message: str) -> None:
    with pytest.raises(WitnessError) as refused:
        witness_parse(target)

    assert str(refused.value) == message


def test_stewards_see_each_witness_and_its_last_error(
    db: None, witness: FakeWitness, seal: Any, steward: User, settings: Any
) -> None:
    _grow(2)
    seal()
    settings.CUSTODIAN_LEDGER_WITNESSES = [witness.url, "http://127.0.0.1:9/add-checkpoint"]
    _grow(1)
    seal()

    html = signed_in_client(steward).get("/ledger/witnesses/").content.decode()

    assert "Latest checkpoint: <strong>3</strong> entries" in html
    assert f'<td class="hash">{witness.url}</td>' in html
    assert "Delivered: 3 entries, 1 attempt," in html
    assert "Failed: 3 entries, 6 attempts," in html
    assert "http://127.0.0.1:9/add-checkpoint could not be reached" in html


def test_witness_page_is_for_stewards_only(db: None, participant: User) -> None:
    assert Client().get("/ledger/witnesses/").status_code == 302
    assert signed_in_client(participant).get("/ledger/witnesses/").status_code == 403
