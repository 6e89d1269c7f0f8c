"""The ethics approval through the API: a PDF by content, size-limited, served only to those
who may see the request."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access.models import AccessRequest, EthicsDocument
from portal.models import User
from tests.access.api_support import API, api_client, problem, refusal

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path: Path) -> Path:
    settings.CUSTODIAN_PRIVATE_ROOT = tmp_path
    return tmp_path


def _upload(user: User, request: AccessRequest, name: str, content: bytes):
    return api_client(user).post(
        f"{API}/requests/{request.accession}/ethics/",
        {"file": SimpleUploadedFile(name, content, content_type="application/pdf")},
        format="multipart",
    )


def test_api_ethics_upload_and_download(
    draft: AccessRequest, researcher: User, private_root: Path
) -> None:
    response = _upload(researcher, draft, "approval.pdf", PDF)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["size"]) == ("approval.pdf", len(PDF))
    document = EthicsDocument.objects.get()
    assert (private_root / document.path).read_bytes() == PDF
    download = api_client(researcher).get(f"{API}/requests/{draft.accession}/ethics/{document.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="approval.pdf"'
    assert b"".join(download.streaming_content) == PDF
    assert body["url"] == f"http://testserver{API}/requests/{draft.accession}/ethics/{document.pk}/"


def test_api_ethics_upload_refuses_a_file_that_is_not_a_pdf(
    draft: AccessRequest, researcher: User, private_root: Path
) -> None:
    response = _upload(researcher, draft, "approval.pdf", b"MZ\x90\x00 not a pdf at all")

    assert refusal(response) == (
        415,
        "The ethics approval must be a PDF document (this file is not one, or is cut short).",
    )
    assert EthicsDocument.objects.count() == 0
    assert list(private_root.rglob("*")) == []


def test_api_ethics_upload_refuses_an_oversized_file(
    draft: AccessRequest, researcher: User, settings, private_root: Path
) -> None:
    settings.CUSTODIAN_ETHICS_MAX_BYTES = 1024 * 1024
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n"

    response = _upload(researcher, draft, "big.pdf", big)

    assert refusal(response) == (400, "The ethics approval is larger than 1 MB.")
    assert problem(response)["code"] == "too_large"
    assert EthicsDocument.objects.count() == 0


def test_api_ethics_upload_without_a_file_is_invalid(
    draft: AccessRequest, researcher: User
) -> None:
    response = api_client(researcher).post(
        f"{API}/requests/{draft.accession}/ethics/", {}, format="multipart"
    )

    assert response.status_code == 400
    assert problem(response)["errors"] == {"file": ["No file was submitted."]}


def test_api_ethics_upload_after_submission_is_a_conflict(
    in_review: AccessRequest, researcher: User
) -> None:
    response = _upload(researcher, in_review, "late.pdf", PDF)

    assert refusal(response) == (
        409,
        "This request is under review: it can be changed only while it is a draft or "
        "returned for changes.",
    )


def test_api_ethics_download_by_the_committee_and_not_by_others(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    outsider: User,
    django_capture_on_commit_callbacks,
) -> None:
    from tests.access.conftest import submit_for_review

    document_id = _upload(researcher, draft, "approval.pdf", PDF).json()["id"]
    path = f"{API}/requests/{draft.accession}/ethics/{document_id}/"
    # A draft's documents are the applicant's alone.
    assert api_client(dac_member).get(path).status_code == 404

    submit_for_review(draft, researcher, django_capture_on_commit_callbacks)

    assert api_client(dac_member).get(path).status_code == 200
    assert api_client(outsider).get(path).status_code == 404
    assert (
        api_client(researcher).get(f"{API}/requests/{draft.accession}/ethics/999/").status_code
        == 404
    )
