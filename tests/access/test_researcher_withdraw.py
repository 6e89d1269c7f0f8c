"""Withdrawal: a confirmation page, then the withdrawal with a comment on the timeline."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest, RequestStatus
from portal.models import User
from tests.access.researcher_flow import approve
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_withdraw_asks_for_confirmation_then_withdraws(
    draft: AccessRequest, researcher: User
) -> None:
    client = signed_in_client(researcher)
    url = f"/access/requests/{draft.accession}/withdraw/"
    detail = client.get(f"/access/requests/{draft.accession}/").content.decode()
    assert f'<a class="button danger" href="{url}">Withdraw the request</a>' in detail

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert f"<h1>Withdraw {draft.accession}?</h1>" in confirm.content.decode()
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT

    response = client.post(url, {"comment": "Funding ended."})

    assert response.status_code == 302
    assert response["Location"] == f"/access/requests/{draft.accession}/"
    draft.refresh_from_db()
    assert draft.status == RequestStatus.WITHDRAWN
    page = client.get(response["Location"]).content.decode()
    assert f"{draft.accession} is withdrawn." in page
    assert "<h3>Withdrawn</h3>" in page
    assert "<p>Funding ended.</p>" in page
    assert "Withdraw the request</a>" not in page
    assert "Edit the request</a>" not in page


def test_withdrawing_an_approved_request_is_refused(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)
    client = signed_in_client(researcher)
    url = f"/access/requests/{approved.accession}/withdraw/"

    page = client.get(url)
    posted = client.post(url, {"comment": ""})

    assert page.status_code == 409
    assert "This request is approved: it can no longer be withdrawn." in page.content.decode()
    assert posted.status_code == 409
    assert "An access request that is approved cannot become withdrawn." in (
        posted.content.decode()
    )
    approved.refresh_from_db()
    assert approved.status == RequestStatus.APPROVED
