"""The consent receipt: one template, shown as a printable page and rendered to a PDF."""

from __future__ import annotations

import hashlib
from typing import Any

from django.template.loader import render_to_string

from consent.models import ConsentRecord
from consent.selectors import consent_record_answers, record_signer


def receipt_context(record: ConsentRecord) -> dict[str, Any]:
    """Only the record's own fields: the same record always gives the same PDF bytes."""
    return {
        "record": record,
        "answers": consent_record_answers(record),
        "signed_by": record_signer(record),
    }


def receipt_filename(record: ConsentRecord) -> str:
    return f"consent-receipt-{record.participant.study_id}-{record.sequence}.pdf"


def receipt_pdf(record: ConsentRecord) -> bytes:
    # weasyprint takes half a second to import; only this path needs it.
    from weasyprint import HTML

    html = render_to_string("consent/receipt_pdf.html", receipt_context(record))
    return HTML(string=html).write_pdf()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
