"""Ethics approvals: PDFs only, size-limited, stored outside the web root, served to those
allowed to see the request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from access.models import AccessRequest, EthicsDocument
from access.services import access_request_submit
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import complete_draft, released_dataset
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_root(settings: Any, tmp_path: Path) -> Path:
    settings.CUSTODIAN_PRIVATE_ROOT = tmp_path / "private"
    settings.CUSTODIAN_ETHICS_MAX_BYTES = 1024 * 1024
    return settings.CUSTODIAN_PRIVATE_ROOT


def _upload(client: Any, accession: str, name: str, content: bytes) -> Any:
    return client.post(
        f"/access/requests/{accession}/ethics/",
        {"document": SimpleUploadedFile(name, content, content_type="application/pdf")},
    )


def test_documents_step_asks_for_ethics_when_a_dataset_carries_irb(
    researcher: User, steward: User, dac: Committee
) -> None:
    dataset = released_dataset(steward, dac, title="Clinical cohort", modifiers=["IRB"])
    draft = complete_draft(researcher, dataset)

    page = signed_in_client(researcher).get(
        f"/access/requests/{draft.accession}/edit/?step=documents"
    )

    html = page.content.decode()
    assert (
        f"<p>{dataset.accession} requires ethics approval (IRB): upload the approval as a PDF.</p>"
        in html
    )
    assert 'enctype="multipart/form-data"' in html
    assert '<label for="id_document">Ethics approval (PDF)</label>' in html


def test_text_file_named_pdf_is_refused(draft: AccessRequest, researcher: User) -> None:
    response = _upload(
        signed_in_client(researcher), draft.accession, "approval.pdf", b"I approve.\n" * 10
    )

    assert response.status_code == 400
    assert (
        "The ethics approval must be a PDF document (this file is not one, or is cut short)."
        in response.content.decode()
    )
    assert not EthicsDocument.objects.exists()


def test_oversized_file_is_refused(draft: AccessRequest, researcher: User) -> None:
    content = PDF[:-6] + b"x" * (1024 * 1024) + b"%%EOF\n"

    response = _upload(signed_in_client(researcher), draft.accession, "big.pdf", content)

    assert response.status_code == 400
    assert "The ethics approval is larger than 1 MB." in response.content.decode()
    assert not EthicsDocument.objects.exists()


def test_missing_file_is_named(draft: AccessRequest, researcher: User) -> None:
    response = signed_in_client(researcher).post(f"/access/requests/{draft.accession}/ethics/")

    assert response.status_code == 400
    assert (
        '<p class="error" id="id_document_error">Choose the PDF of the ethics approval to '
        "upload.</p>" in response.content.decode()
    )


def test_valid_pdf_is_stored_outside_the_web_root_and_served_to_those_allowed(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    outsider: User,
    other_dac_member: User,
    private_root: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = signed_in_client(researcher)

    response = _upload(client, draft.accession, "Approval letter.pdf", PDF)

    assert response.status_code == 302
    assert response["Location"] == f"/access/requests/{draft.accession}/edit/?step=documents"
    document = EthicsDocument.objects.get()
    stored = (private_root / document.path).resolve()
    assert stored.read_bytes() == PDF
    for public in (django_settings.STATIC_ROOT, django_settings.MEDIA_ROOT):
        if public:
            assert not stored.is_relative_to(Path(public).resolve())
    assert document.original_name == "Approval letter.pdf"
    url = f"/access/requests/{draft.accession}/ethics/{document.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert f'<a href="{url}">Approval letter.pdf</a>' in page

    with django_capture_on_commit_callbacks(execute=True):
        access_request_submit(actor=researcher, request=draft)
    for person in (researcher, dac_member):
        download = signed_in_client(person).get(url)
        assert download.status_code == 200
        assert download["Content-Type"] == "application/pdf"
        assert download["Content-Disposition"] == 'attachment; filename="Approval letter.pdf"'
        assert b"".join(download.streaming_content) == PDF
    for person in (outsider, other_dac_member):
        assert signed_in_client(person).get(url).status_code == 404
    assert (
        client.get(f"/access/requests/{draft.accession}/ethics/{document.pk + 1}/").status_code
        == 404
    )
