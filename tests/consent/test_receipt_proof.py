"""Each consent receipt, once sealed, carries its inclusion proof and the signed checkpoint:
on the receipt page, and as a file the participant downloads and keeps."""

from __future__ import annotations

import json

from django.test import Client

from consent.models import ConsentRecord, ConsentVersion
from consent.services import consent_version_publish
from portal.ledger import ledger_seal
from portal.models import AuditEvent, LedgerCheckpoint, LedgerLeaf, User
from tests.conftest import signed_in_client
from tests.consent.conftest import assert_record_proof, give, make_version


def _record(participant: User, steward: User) -> ConsentRecord:
    version: ConsentVersion = consent_version_publish(actor=steward, version=make_version(steward))
    return give(participant.participant, version)


def test_before_sealing_the_receipt_says_so_and_the_proof_is_a_409_in_words(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    client = signed_in_client(participant)

    page = client.get(f"/consent/receipts/{record.pk}/").content.decode()
    proof = client.get(f"/consent/receipts/{record.pk}/proof/")

    assert "This record is being sealed in the portal's public log" in page
    assert f"/consent/receipts/{record.pk}/proof/" not in page
    assert proof.status_code == 409
    assert "This record is waiting to be sealed in the public log." in proof.content.decode()


def test_once_sealed_the_receipt_shows_where_the_record_is_in_the_log(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    ledger_seal()
    entries = AuditEvent.objects.count()
    checkpoint = LedgerCheckpoint.objects.order_by("-tree_size").first()
    assert checkpoint is not None

    page = signed_in_client(participant).get(f"/consent/receipts/{record.pk}/").content.decode()

    place = LedgerLeaf.objects.get(
        event__object_type="consent.consentrecord", event__object_id=str(record.pk)
    ).leaf_index
    assert "Sealed in the public log" in page
    assert f"entry {place + 1} of {entries}" in page
    assert f"{entries} entries, signed" in page
    assert checkpoint.root_hash in page
    assert f'href="/consent/receipts/{record.pk}/proof/"' in page
    assert f'href="/consent/receipts/{record.pk}/verify/"' in page


def test_the_proof_file_proves_the_record_is_in_the_signed_checkpoint(
    db: None, participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    ledger_seal()

    response = signed_in_client(participant).get(f"/consent/receipts/{record.pk}/proof/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-record-{record.participant.study_id}-1-proof.json"'
    )
    assert_record_proof(json.loads(response.content), record)


def test_another_participants_proof_is_a_404_and_anonymous_signs_in(
    db: None, participant: User, other_participant: User, steward: User
) -> None:
    record = _record(participant, steward)
    ledger_seal()

    other = signed_in_client(other_participant).get(f"/consent/receipts/{record.pk}/proof/")
    anonymous = Client().get(f"/consent/receipts/{record.pk}/proof/")

    assert other.status_code == 404
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/account/sign-in/")
