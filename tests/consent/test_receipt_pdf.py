from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.template.loader import render_to_string

from consent.models import ConsentReceipt, ConsentRecord, ConsentVersion, Participant
from consent.receipts import receipt_context, receipt_pdf
from consent.services import consent_receipt_create
from portal.models import AuditEvent
from tests.consent.conftest import ALL_YES, give

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(enrolled: Participant, version: ConsentVersion) -> ConsentRecord:
    return give(enrolled, version, {**ALL_YES, "commercial": "ask"})


def test_receipt_stores_the_pdf_and_its_sha256(record: ConsentRecord) -> None:
    receipt = consent_receipt_create(actor=None, record=record)

    stored = ConsentReceipt.objects.get(record=record)
    pdf = bytes(stored.pdf)
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == stored.sha256 == receipt.sha256
    assert (
        AuditEvent.objects.filter(action="consent.receipt", object_id=str(record.pk)).count() == 1
    )


def test_receipt_is_made_once(record: ConsentRecord) -> None:
    first = consent_receipt_create(actor=None, record=record)
    second = consent_receipt_create(actor=None, record=record)

    assert first.sha256 == second.sha256
    assert ConsentReceipt.objects.count() == 1
    assert AuditEvent.objects.filter(action="consent.receipt").count() == 1


def test_same_record_renders_the_same_pdf(record: ConsentRecord) -> None:
    assert receipt_pdf(record) == receipt_pdf(record)


def test_pdf_is_rendered_from_the_records_content(record: ConsentRecord) -> None:
    # The PDF's text is compressed; what it shows is the template rendered from the record.
    html = render_to_string("consent/receipt_pdf.html", receipt_context(record))

    assert "<h1>Consent receipt</h1>" in html
    assert f"<dd>Pat Participant (study ID {record.participant.study_id})</dd>" in html
    assert "<tr><td>May companies use your data?</td><td>Ask me each time</td></tr>" in html
    assert f'<dd class="hash">{record.record_hash}</dd>' in html
    assert "<dt>Typed signature</dt><dd>Pat Participant</dd>" in html
    assert "<script" not in html
    assert "<link" not in html


def test_download_makes_the_pdf_when_the_task_has_not_yet(
    enrolled: Participant, record: ConsentRecord, sign_in: Any
) -> None:
    assert not ConsentReceipt.objects.exists()

    response = sign_in(enrolled.user).get(f"/consent/receipts/{record.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{enrolled.study_id}-1.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    assert hashlib.sha256(response.content).hexdigest() == ConsentReceipt.objects.get().sha256


def test_receipt_page_shows_the_record_and_the_pdf_sha256(
    enrolled: Participant, record: ConsentRecord, sign_in: Any
) -> None:
    response = sign_in(enrolled.user).get(f"/consent/receipts/{record.pk}/")

    html = response.content.decode()
    receipt = ConsentReceipt.objects.get(record=record)
    assert response.status_code == 200
    assert f'<p class="hash" id="pdf-sha256">{receipt.sha256}</p>' in html
    assert f'<dd class="hash">{record.record_hash}</dd>' in html
    assert "<tr><td>May companies use your data?</td><td>Ask me each time</td></tr>" in html
    assert f'href="/consent/receipts/{record.pk}/pdf/">Download the PDF</a>' in html
