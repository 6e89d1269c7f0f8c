"""Accepting the committees' data-access agreements from the wizard."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AgreementAcceptance
from portal.models import User
from tests.access.conftest import AGREEMENT_TEXT, Cohort, complete_draft
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_documents_step_shows_the_agreement_and_who_accepted(
    researcher: User, cohort: Cohort, agreement: Any
) -> None:
    draft = complete_draft(researcher, cohort.dataset)
    client = signed_in_client(researcher)
    url = f"/access/requests/{draft.accession}/edit/?step=documents"

    before = client.get(url).content.decode()
    assert '<h4 id="agreement-' in before
    assert "Test DAC data-access agreement, version 1</h4>" in before
    assert f"<p>{AGREEMENT_TEXT}</p>" in before
    assert "<tr><td>Riley Researcher</td>\n        <td>Not yet</td></tr>" in before
    assert '<button type="submit">I accept these agreements</button>' in before

    response = client.post(f"/access/requests/{draft.accession}/agreements/accept/")

    assert response.status_code == 302
    assert response["Location"] == url
    after = client.get(url).content.decode()
    assert "You accepted the data-access agreements of this request." in after
    assert "<td>Accepted on " in after
    assert "I accept these agreements</button>" not in after
    assert AgreementAcceptance.objects.filter(request=draft, user=researcher).count() == 1


def test_accepting_again_is_refused_with_the_message(
    researcher: User, cohort: Cohort, agreement: Any
) -> None:
    draft = complete_draft(researcher, cohort.dataset)
    client = signed_in_client(researcher)
    client.post(f"/access/requests/{draft.accession}/agreements/accept/")

    again = client.post(f"/access/requests/{draft.accession}/agreements/accept/")

    assert again.status_code == 409
    assert "You have already accepted every agreement of this request." in again.content.decode()
    assert AgreementAcceptance.objects.filter(request=draft).count() == 1
