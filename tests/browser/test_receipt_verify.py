"""A participant checks their own consent record in Chromium (Web Crypto: SHA-256, Ed25519):
waiting before sealing, verified after, and a plain-words warning when the record, its
sealed entry or the proof was altered in the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from consent.models import ConsentRecord
from consent.services import consent_version_publish
from portal.ledger import ledger_origin, ledger_seal
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import give, make_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VERIFIED = (
    "Verified. Your browser checked that this record is unchanged, that it is in the public "
    "log, and that the log is signed with the portal key."
)
RECORD_CHANGED = "Warning: this record does not match its own fingerprint."
ENTRY_CHANGED = "Warning: this record is not the one that was sealed in the public log."
PROOF_CHANGED = "Warning: the proof does not lead to the signed checkpoint of the public log."


@pytest.fixture
def record(participant: User, steward: User) -> ConsentRecord:
    version = consent_version_publish(actor=steward, version=make_version(steward))
    return give(participant.participant, version)


def _tamper(tables: list[str], *statements: tuple[str, list[object]]) -> None:
    """What someone who owns the database could do: the append-only triggers switched off."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _verdict(page: Page, record: ConsentRecord, outcome: str) -> str:
    page.goto(f"/consent/receipts/{record.pk}/verify/")
    verdict = page.locator("#verify-verdict")
    expect(verdict).to_have_attribute("data-verdict", outcome)
    return verdict.inner_text()


def test_receipt_verifies_in_the_browser_once_sealed(
    page: Page, participant: User, record: ConsentRecord
) -> None:
    browser_sign_in(page, participant)
    page.goto(f"/consent/receipts/{record.pk}/")
    page.get_by_role("link", name=f"Check record {record.sequence}").click()

    expect(page.locator("#verify-verdict")).to_have_attribute("data-verdict", "waiting")
    assert (
        "This record is waiting to be sealed in the public log."
        in page.locator("#verify-verdict").inner_text()
    )
    screenshot(page, "receipt_verify_waiting")

    ledger_seal()
    text = _verdict(page, record, "ok")

    assert VERIFIED in text
    steps = page.locator("#verify-steps li")
    assert steps.evaluate_all("items => items.map(i => i.dataset.result)") == ["passed"] * 4
    screenshot(page, "receipt_verify_ok")
    assert_accessible(page)


def test_the_sealed_receipt_shows_its_place_in_the_log_and_downloads_its_proof(
    page: Page, participant: User, record: ConsentRecord
) -> None:
    ledger_seal()
    browser_sign_in(page, participant)
    page.goto(f"/consent/receipts/{record.pk}/")

    seal = page.locator("#receipt-seal")
    expect(seal).to_be_visible()
    expect(seal).to_contain_text("Checkpoint's root hash")
    screenshot(page, "receipt_sealed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the proof").click()
    proof = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))

    assert download.value.suggested_filename.endswith(f"-{record.sequence}-proof.json")
    assert proof["record_hash"] == record.record_hash
    assert proof["checkpoint"].splitlines()[0] == ledger_origin()
    assert_accessible(page)


def test_altered_record_is_reported(page: Page, participant: User, record: ConsentRecord) -> None:
    ledger_seal()
    browser_sign_in(page, participant)
    _tamper(
        ["consent_consentrecord"],
        (
            "UPDATE consent_consentrecord SET answers = answers || %s::jsonb WHERE id = %s",
            ['{"future_use": "no"}', record.pk],
        ),
    )

    text = _verdict(page, record, "record")

    assert RECORD_CHANGED in text
    assert "It was changed after it was made." in text
    screenshot(page, "receipt_verify_record_altered")


def test_record_altered_with_its_hash_recomputed_is_reported(
    page: Page, participant: User, record: ConsentRecord
) -> None:
    from consent.ledger import record_hash

    ledger_seal()
    browser_sign_in(page, participant)
    record.answers = {**record.answers, "future_use": "no"}
    forged = record_hash(record)
    _tamper(
        ["consent_consentrecord"],
        (
            "UPDATE consent_consentrecord SET answers = answers || %s::jsonb, record_hash = %s "
            "WHERE id = %s",
            ['{"future_use": "no"}', forged, record.pk],
        ),
    )

    text = _verdict(page, record, "entry")

    assert ENTRY_CHANGED in text
    screenshot(page, "receipt_verify_record_forged")


def test_altered_proof_is_reported(page: Page, participant: User, record: ConsentRecord) -> None:
    ledger_seal()
    browser_sign_in(page, participant)
    page.goto(f"/consent/receipts/{record.pk}/verify/")  # keeps the subtree hashes
    # Every hash of the proof changed, the record's own leaf left as sealed.
    _tamper(
        ["portal_ledgernode", "portal_ledgerleaf"],
        ("UPDATE portal_ledgernode SET node_hash = md5(node_hash) || md5(md5(node_hash))", []),
        (
            "UPDATE portal_ledgerleaf SET leaf_hash = md5(leaf_hash) || md5(md5(leaf_hash)) "
            "WHERE event_id NOT IN (SELECT id FROM portal_auditevent "
            "WHERE object_type = 'consent.consentrecord' AND object_id = %s)",
            [str(record.pk)],
        ),
    )

    text = _verdict(page, record, "proof")

    assert PROOF_CHANGED in text
    steps = page.locator("#verify-steps li")
    assert steps.evaluate_all("items => items.map(i => i.dataset.result)") == [
        "passed",
        "passed",
        "failed",
        "skipped",
    ]
    screenshot(page, "receipt_verify_proof_altered")


def test_checkpoint_signed_by_another_key_is_reported(
    page: Page, participant: User, record: ConsentRecord
) -> None:
    from portal.ledger import ledger_origin
    from portal.models import LedgerCheckpoint
    from portal.signed_note import note_sign, signer_generate

    ledger_seal()
    browser_sign_in(page, participant)
    checkpoint = LedgerCheckpoint.objects.get()
    text = checkpoint.note.split("\n\n")[0] + "\n"
    forged = note_sign(text, signer_generate(ledger_origin()))
    _tamper(
        ["portal_ledgercheckpoint"],
        ("UPDATE portal_ledgercheckpoint SET note = %s WHERE id = %s", [forged, checkpoint.pk]),
    )

    verdict = _verdict(page, record, "signature")

    assert "Warning: the checkpoint is not signed with the portal key." in verdict
