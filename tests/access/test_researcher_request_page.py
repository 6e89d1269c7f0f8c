"""The request page: the whole application, decisions, grants, timeline; actions by rights."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest
from access.services import coapplicant_answer, coapplicant_invite, grants_revoke
from datasets.models import Committee
from portal.models import User
from tests.access.researcher_flow import CONDITIONS, DECISION_COMMENT, VOTE_RATIONALE, approve
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_draft_page_shows_the_application_and_the_applicants_actions(
    draft: AccessRequest, researcher: User, cohort: Any
) -> None:
    response = signed_in_client(researcher).get(f"/access/requests/{draft.accession}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Variants in heart disease</h1>" in page
    assert '<span class="status status-draft">Draft</span>' in page
    assert "<dt>Lay summary</dt><dd>We look for DNA changes linked to heart disease.</dd>" in page
    assert "<dt>Primary use</dt><dd>Health, medical or biomedical research (HMB)</dd>" in page
    assert "<dt>Countries of use</dt><dd>GB</dd>" in page
    assert "<dt>Commercial purpose</dt><dd>No</dd>" in page
    assert "<dt>Signing official</dt><dd>Sigrid Official (official@example.org)</dd>" in page
    assert f'<h4 id="match-{cohort.dataset.pk}">{cohort.dataset.accession} Test cohort</h4>' in page
    assert f'href="/access/requests/{draft.accession}/edit/">Edit the request</a>' in page
    assert f'href="/access/requests/{draft.accession}/pdf/">Download as PDF</a>' in page
    assert "Open the committee review" not in page
    assert "Accepted on " in page
    assert "<h3>Draft created</h3>" in page
    assert "<h3>Agreement accepted</h3>" in page


def test_approved_page_shows_decision_grants_and_no_votes_to_the_applicant(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)
    grant_end = approved.grants.get().ends_on

    page = signed_in_client(researcher).get(f"/access/requests/{approved.accession}/")

    html = page.content.decode()
    assert "<h3>Test DAC: Approved</h3>" in html
    assert f"<p>{DECISION_COMMENT}</p>" in html
    assert f"<p><strong>Conditions:</strong> {CONDITIONS}</p>" in html
    assert f"<td>{grant_end:%-d %b %Y}</td>" in html
    assert "<td>Active" in html
    assert VOTE_RATIONALE not in html
    assert "<h3>Vote" not in html
    assert "Edit the request</a>" not in html
    home = signed_in_client(researcher).get("/access/researcher/").content.decode()
    assert f"<td>{grant_end:%-d %B %Y}</td>" in home


def test_committee_member_sees_votes_and_the_review_link(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)

    html = signed_in_client(dac_member).get(f"/access/requests/{approved.accession}/").content

    page = html.decode()
    assert f'<a class="button" href="/access/review/{approved.accession}/">' in page
    assert VOTE_RATIONALE in page
    assert "Renew this request" not in page


def test_revocation_reason_is_shown(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    dac: Committee,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        grants_revoke(
            actor=dac_chair, request=approved, committee=dac, reason="A data breach was reported."
        )

    page = signed_in_client(researcher).get(f"/access/requests/{approved.accession}/")

    html = page.content.decode()
    assert ": A data breach was reported.<br>" in html
    assert "Revoked on " in html


def test_coapplicant_sees_the_request_but_cannot_edit_it(
    draft: AccessRequest, researcher: User, outsider: User
) -> None:
    invitation = coapplicant_invite(actor=researcher, request=draft, email=outsider.email)
    coapplicant_answer(actor=outsider, invitation=invitation, accept=True, accept_agreements=True)
    client = signed_in_client(outsider)

    page = client.get(f"/access/requests/{draft.accession}/").content.decode()
    edit = client.get(f"/access/requests/{draft.accession}/edit/")

    assert "<h1>Variants in heart disease</h1>" in page
    assert "Edit the request</a>" not in page
    assert "Withdraw the request</a>" not in page
    assert edit.status_code == 403
    assert "Only the applicant can change this request." in edit.content.decode()
