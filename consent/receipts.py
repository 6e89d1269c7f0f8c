"""The consent receipt: one template, shown as a printable page and rendered to a PDF.

A receipt is written in the language of whoever signed (the participant, or the guardian
acting for them): the PDF made once and kept, and the page, in the reader's language.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from consent.languages import participant_language, person_language
from consent.models import ConsentRecord
from consent.selectors import consent_record_answers, record_signer


def record_language(record: ConsentRecord) -> str:
    """The language of a record's PDF receipt: the signer's (a guardian's for a child)."""
    if record.proxy is not None:
        return person_language(record.proxy)
    return participant_language(record.participant)


def _language_name(code: str) -> str:
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return code


def receipt_context(record: ConsentRecord) -> dict[str, Any]:
    """Only the record's own fields: the same record always gives the same PDF bytes."""
    return {
        "record": record,
        "answers": consent_record_answers(record),
        "signed_by": record_signer(record),
        "form_language": _language_name(record.version.language),
    }


def receipt_filename(record: ConsentRecord) -> str:
    return f"consent-receipt-{record.participant.study_id}-{record.sequence}.pdf"


def receipt_html(record: ConsentRecord) -> str:
    """The PDF's HTML, in the signer's language."""
    with translation.override(record_language(record)):
        return render_to_string("consent/receipt_pdf.html", receipt_context(record))


def receipt_pdf(record: ConsentRecord) -> bytes:
    # weasyprint takes half a second to import; only this path needs it.
    from weasyprint import HTML

    return HTML(string=receipt_html(record)).write_pdf()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
