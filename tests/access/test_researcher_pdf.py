"""The application as a PDF: fields, DUO purpose and match, decisions, acceptances."""

from __future__ import annotations

import re
import zlib
from typing import Any

import pytest
from django.template.loader import render_to_string

from access.models import AccessRequest
from portal.models import User
from tests.access.researcher_flow import CONDITIONS, DECISION_COMMENT, VOTE_RATIONALE, approve
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text with pypdf when installed; otherwise its decompressed streams, where
    weasyprint writes the headings' bookmarks as plain strings."""
    try:
        import io

        from pypdf import PdfReader
    except ImportError:
        chunks = []
        for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
            try:
                chunks.append(zlib.decompress(stream.group(1)).decode("latin-1"))
            except zlib.error:
                continue
        return "\n".join(chunks)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_download_contains_the_title(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)

    response = signed_in_client(researcher).get(f"/access/requests/{approved.accession}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{approved.accession}.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert "Variants in heart disease" in _pdf_text(response.content)


def test_pdf_template_holds_the_application_decisions_and_acceptances(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    cohort: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)
    rendered: dict[str, str] = {}

    def capture(context: dict[str, Any]) -> bytes:
        rendered["html"] = render_to_string("access/request_pdf.html", context)
        return b"%PDF-1.7 stub"

    monkeypatch.setattr("access.views.researcher.application_pdf", capture)
    signed_in_client(researcher).get(f"/access/requests/{approved.accession}/pdf/")

    html = rendered["html"]
    assert "<h1>Variants in heart disease</h1>" in html
    assert "<dt>Primary use</dt><dd>Health, medical or biomedical research (HMB)</dd>" in html
    assert f"<h3>{cohort.dataset.accession} Test cohort (Test DAC)</h3>" in html
    assert "<p>Match: permitted.</p>" in html
    assert "<h3>Test DAC: Approved (" in html
    assert f"<p>{DECISION_COMMENT}</p>" in html
    assert f"<p>Conditions: {CONDITIONS}</p>" in html
    assert "<td>Riley Researcher</td><td>Test DAC, version 1</td>" in html
    assert VOTE_RATIONALE not in html
    assert "<script" not in html
    assert "<link" not in html
