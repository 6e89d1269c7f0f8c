"""/ledger/proof/inclusion and /ledger/proof/consistency: public JSON proofs a client checks
against the signed checkpoint itself; bad requests are 4xx problems in words."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from portal.audit import audit_log
from portal.ledger import leaf_data, ledger_seal, ledger_verifier
from portal.models import AuditEvent, User
from portal.signed_note import checkpoint_open
from tests.factories import api_token_for
from tests.portal import rfc9162

PROBLEM = "application/problem+json"


def _log(*batches: int) -> list[AuditEvent]:
    entries = []
    for batch in batches:
        entries += [
            audit_log(actor=None, action="test.proof", object_type="thing", object_id=i)
            for i in range(batch)
        ]
        ledger_seal()
    return entries


def _problem(response: object) -> str:
    assert response["Content-Type"] == PROBLEM  # type: ignore[index]
    return json.loads(response.content)["detail"]  # type: ignore[attr-defined]


def test_inclusion_proof_of_an_entry_verifies_against_the_signed_checkpoint(db: None) -> None:
    entries = _log(3, 4)

    response = Client().get(f"/ledger/proof/inclusion?entry={entries[4].pk}")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["leaf_index"], body["tree_size"], body["entry_id"]) == (4, 7, entries[4].pk)
    signed = checkpoint_open(body["checkpoint"], ledger_verifier())
    assert signed.size == 7
    assert base64.b64encode(signed.root_hash).decode() == body["checkpoint"].split("\n")[2]
    leaf = rfc9162.leaf(leaf_data(entries[4]))
    assert body["leaf_hash"] == leaf.hex()
    path = [bytes.fromhex(h) for h in body["inclusion_path"]]
    assert rfc9162.verify_inclusion(4, 7, leaf, path, signed.root_hash)


def test_inclusion_proof_in_an_earlier_checkpoint(db: None) -> None:
    _log(3, 4)

    body = json.loads(Client().get("/ledger/proof/inclusion?leaf_index=1&tree_size=3").content)

    assert (body["tree_size"], len(body["inclusion_path"])) == (3, 2)


def test_consistency_proof_verifies_between_signed_checkpoints(db: None) -> None:
    entries = _log(3, 4)

    response = Client().get("/ledger/proof/consistency?first=3&second=7")

    assert response.status_code == 200
    body = json.loads(response.content)
    older = checkpoint_open(body["first_checkpoint"], ledger_verifier())
    newer = checkpoint_open(body["second_checkpoint"], ledger_verifier())
    assert older.root_hash == rfc9162.mth([leaf_data(e) for e in entries[:3]])
    path = [bytes.fromhex(h) for h in body["consistency_path"]]
    assert rfc9162.verify_consistency(3, 7, older.root_hash, newer.root_hash, path)


def test_consistency_proof_to_the_latest_checkpoint_by_default(db: None) -> None:
    _log(3, 4, 2)

    body = json.loads(Client().get("/ledger/proof/consistency?first=7").content)

    assert body["second"] == 9


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        (
            "inclusion?entry=999999",
            404,
            "There is no audit entry #999999.",
        ),
        (
            "inclusion?leaf_index=50",
            404,
            "There is no leaf 50 in the log.",
        ),
        (
            "inclusion?leaf_index=5&tree_size=3",
            400,
            "Leaf 5 was sealed after the checkpoint of tree size 3; ask for a later one.",
        ),
        (
            "inclusion?leaf_index=1&tree_size=70",
            400,
            "tree_size 70 is beyond the log, whose latest checkpoint has tree size 7.",
        ),
        (
            "inclusion?leaf_index=1&tree_size=5",
            404,
            "No checkpoint was signed at tree size 5; proofs are given between signed "
            "checkpoints (the latest is at /ledger/checkpoint).",
        ),
        (
            "consistency?first=7&second=3",
            400,
            "first (7) is larger than second (3): a log only grows, so an older tree is never "
            "larger than a newer one.",
        ),
        (
            "consistency?first=3&second=12",
            400,
            "second 12 is beyond the log, whose latest checkpoint has tree size 7.",
        ),
    ],
)
def test_bad_proof_request_is_a_problem_in_words(
    db: None, query: str, status: int, detail: str
) -> None:
    _log(3, 4)

    response = Client().get(f"/ledger/proof/{query}")

    assert response.status_code == status
    assert _problem(response) == detail


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "consistency?first=0&second=3",
            "first",
            "The empty tree (size 0) proves nothing: give a tree size of at least 1.",
        ),
        (
            "inclusion?entry=1&tree_size=0",
            "tree_size",
            "The empty tree (size 0) proves nothing: give a tree size of at least 1.",
        ),
        ("consistency?first=abc", "first", "A valid integer is required."),
        ("consistency?first=99999999999999999999999", "first", None),
        ("inclusion?entry=1&leaf_index=2", "non_field_errors", None),
        ("inclusion", "non_field_errors", None),
    ],
)
def test_malformed_proof_request_is_refused_by_field(
    db: None, query: str, field: str, message: str | None
) -> None:
    _log(3)

    response = Client().get(f"/ledger/proof/{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    errors = json.loads(response.content)["errors"]
    assert field in errors
    if message:
        assert errors[field] == [message]


def test_proof_before_any_checkpoint_is_a_404_in_words(db: None) -> None:
    response = Client().get("/ledger/proof/consistency?first=1")

    assert response.status_code == 404
    assert _problem(response) == "No checkpoint has been signed yet: nothing can be proved."


def test_unsealed_entry_is_a_404_that_says_to_wait(db: None) -> None:
    _log(1)
    late = audit_log(actor=None, action="test.proof", object_type="thing", object_id="late")

    response = Client().get(f"/ledger/proof/inclusion?entry={late.pk}")

    assert response.status_code == 404
    assert _problem(response) == f"Entry #{late.pk} is not sealed yet; ask again in a few seconds."


def test_proofs_are_public_and_the_same_for_anyone(db: None, outsider: User) -> None:
    entries = _log(2)
    url = f"/ledger/proof/inclusion?entry={entries[0].pk}"

    anonymous = Client().get(url)
    signed_in = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {api_token_for(outsider)}")

    assert anonymous.status_code == signed_in.status_code == 200
    assert anonymous.content == signed_in.content


def test_proofs_are_in_the_openapi_schema(db: None) -> None:
    import yaml

    schema = yaml.safe_load(Client().get("/api/schema/").content)

    inclusion = schema["paths"]["/ledger/proof/inclusion"]["get"]
    consistency = schema["paths"]["/ledger/proof/consistency"]["get"]
    assert {p["name"] for p in inclusion["parameters"]} == {"entry", "leaf_index", "tree_size"}
    assert {p["name"] for p in consistency["parameters"]} == {"first", "second"}
    for operation in (inclusion, consistency):
        assert {"200", "400", "404"} <= set(operation["responses"])
        assert list(operation["responses"]["404"]["content"]) == [PROBLEM]
