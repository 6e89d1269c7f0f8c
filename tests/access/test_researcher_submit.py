"""Submitting from the wizard's last step: every problem at once, the DUO flag, success."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest, RequestStatus
from access.services import access_request_create, agreements_accept
from datasets.models import Committee
from portal.models import User
from tests.access.conftest import complete_draft, released_dataset
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

MISSING = [
    ("project", "Give a project title."),
    ("project", "Give a lay summary."),
    ("project", "Give a scientific abstract."),
    ("people", "Give the signing official&#x27;s name."),
    ("people", "Give the signing official&#x27;s email."),
    ("purpose", "Choose the primary use of the data."),
    ("purpose", "Name the countries where the data will be used."),
    ("documents", "Confirm the data-security attestation."),
    ("datasets", "Choose at least one dataset."),
]


def test_incomplete_submission_lists_every_missing_field_at_once(researcher: User) -> None:
    draft = access_request_create(actor=researcher)
    client = signed_in_client(researcher)

    response = client.post(f"/access/requests/{draft.accession}/submit/")

    assert response.status_code == 400
    page = response.content.decode()
    assert '<h2 id="error-summary-title">The request cannot be submitted yet</h2>' in page
    listed = "".join(f'<li><a href="?step={step}">{text}</a></li>' for step, text in MISSING)
    assert f"<ul>{listed}</ul>" in page
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT


def test_review_step_lists_the_same_problems_before_submitting(researcher: User) -> None:
    draft = access_request_create(actor=researcher)

    response = signed_in_client(researcher).get(
        f"/access/requests/{draft.accession}/edit/?step=review"
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert '<h3 id="missing-heading">Before you can submit</h3>' in page
    listed = "".join(f'<li><a href="?step={step}">{text}</a></li>' for step, text in MISSING)
    assert f'<ul class="problems">{listed}</ul>' in page


def test_denied_purpose_is_flagged_and_can_still_be_submitted(
    researcher: User,
    steward: User,
    dac: Committee,
    agreement: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dataset = released_dataset(steward, dac, title="Academic cohort", modifiers=["NCU"])
    draft = complete_draft(researcher, dataset, commercial=True)
    agreements_accept(actor=researcher, request=draft)
    client = signed_in_client(researcher)

    review = client.get(f"/access/requests/{draft.accession}/edit/?step=review")

    page = review.content.decode()
    assert "Your request is complete." in page
    assert (
        f"<strong>Flagged:</strong> the conditions of {dataset.accession} do not permit this "
        "purpose. You can still submit" in page
    )
    assert '<strong class="status status-deny">Not permitted</strong>' in page
    assert (
        "<li>Commercial use is not permitted: the data carry NCU (non-commercial use only).</li>"
        in page
    )
    assert "Submit the request despite the flag</button>" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/access/requests/{draft.accession}/submit/")

    assert response.status_code == 302
    assert response["Location"] == f"/access/requests/{draft.accession}/"
    draft.refresh_from_db()
    assert draft.status == RequestStatus.UNDER_REVIEW


def test_complete_request_is_submitted_and_reported(
    draft: AccessRequest, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in_client(researcher)
    review = client.get(f"/access/requests/{draft.accession}/edit/?step=review").content.decode()
    assert "Flagged" not in review
    assert '<strong class="status status-approve">Permitted</strong>' in review

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/access/requests/{draft.accession}/submit/")

    assert response["Location"] == f"/access/requests/{draft.accession}/"
    page = client.get(response["Location"]).content.decode()
    assert f"{draft.accession} is submitted. The committees will review it." in page
    assert '<span class="status status-under_review">Under review</span>' in page
    assert "<h3>Submitted</h3>" in page
    assert "<h3>Review started</h3>" in page


def test_submitting_twice_shows_the_conflict(
    draft: AccessRequest, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in_client(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/access/requests/{draft.accession}/submit/")

    response = client.post(f"/access/requests/{draft.accession}/submit/")

    assert response.status_code == 409
    assert (
        "This request is under review: it can be changed only while it is a draft or returned "
        "for changes." in response.content.decode()
    )


def test_a_coapplicant_cannot_submit(
    draft: AccessRequest, researcher: User, outsider: User
) -> None:
    from access.services import coapplicant_answer, coapplicant_invite

    invitation = coapplicant_invite(
        actor=researcher, request=draft, email=outsider.email, full_name="Out Sider"
    )
    coapplicant_answer(actor=outsider, invitation=invitation, accept=True, accept_agreements=True)

    response = signed_in_client(outsider).post(f"/access/requests/{draft.accession}/submit/")

    assert response.status_code == 403
    assert "Only the applicant can submit this request." in response.content.decode()
