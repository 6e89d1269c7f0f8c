from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core import mail

from consent.models import ConsentReceipt, ConsentRecord, ConsentVersion, Participant
from consent.tasks import generate_receipt_task
from portal.models import AuditEvent
from tests.consent.conftest import ALL_YES

pytestmark = pytest.mark.django_db


def _sign_through_the_pages(client: Any, version: ConsentVersion) -> Any:
    answers = {f"choice-{k}": v for k, v in ALL_YES.items()}
    client.post("/consent/form/questions/", {"q1": "0"})
    client.post("/consent/form/choices/", answers)
    return client.post(
        "/consent/form/review/",
        {
            **answers,
            "signature": "Pat Participant",
            "expected_sequence": "0",
            "version": version.pk,
        },
    )


def test_signing_emails_the_receipt_with_the_pdf_attached(
    enrolled: Participant,
    version: ConsentVersion,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = sign_in(enrolled.user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _sign_through_the_pages(client, version)

    assert response.status_code == 302
    assert len(callbacks) == 1
    record = ConsentRecord.objects.get(participant=enrolled)
    receipt = ConsentReceipt.objects.get(record=record)
    assert receipt.emailed_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["participant@example.org"]
    assert message.subject == "Your consent receipt"
    assert receipt.sha256 in message.body
    assert f"/consent/receipts/{record.pk}/" in message.body
    [(name, content, mimetype)] = message.attachments
    assert name == f"consent-receipt-{enrolled.study_id}-1.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == receipt.sha256


def test_withdrawal_receipt_is_emailed_too(
    enrolled: Participant,
    version: ConsentVersion,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = sign_in(enrolled.user)
    with django_capture_on_commit_callbacks(execute=True):
        _sign_through_the_pages(client, version)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/consent/withdraw/confirm/",
            {"level": "no_access", "signature": "Pat Participant", "expected_sequence": "1"},
        )

    assert [m.subject for m in mail.outbox] == ["Your consent receipt", "Your withdrawal receipt"]
    assert "Your withdrawal (no further access) is recorded." in mail.outbox[1].body
    assert ConsentReceipt.objects.count() == 2


def test_refused_form_queues_no_receipt(
    enrolled: Participant,
    version: ConsentVersion,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = sign_in(enrolled.user)
    client.post("/consent/form/questions/", {"q1": "0"})
    client.post("/consent/form/choices/", {f"choice-{k}": v for k, v in ALL_YES.items()})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(
            "/consent/form/review/",
            {
                **{f"choice-{k}": v for k, v in ALL_YES.items()},
                "signature": "Wrong Name",
                "expected_sequence": "0",
                "version": version.pk,
            },
        )

    assert callbacks == []
    assert not ConsentReceipt.objects.exists()
    assert mail.outbox == []


def test_task_rerun_sends_nothing_twice(
    enrolled: Participant,
    version: ConsentVersion,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _sign_through_the_pages(sign_in(enrolled.user), version)
    record = ConsentRecord.objects.get(participant=enrolled)

    result = generate_receipt_task(record.pk)

    assert result == ConsentReceipt.objects.get().sha256
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="consent.receipt_email").count() == 1


def test_task_for_a_missing_record_does_nothing() -> None:
    assert generate_receipt_task(999_999) == "missing"
    assert mail.outbox == []
