"""Renewal: a new draft pre-filled from an approved request, linked both ways."""

from __future__ import annotations

from typing import Any

import pytest

from access.models import AccessRequest, RequestStatus
from portal.models import User
from tests.access.researcher_flow import approve
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db


def test_renew_prefills_a_new_draft_and_links_it(
    draft: AccessRequest,
    researcher: User,
    dac_member: User,
    dac_chair: User,
    cohort: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approved = approve(draft, researcher, dac_member, dac_chair, django_capture_on_commit_callbacks)
    client = signed_in_client(researcher)
    detail = client.get(f"/access/requests/{approved.accession}/").content.decode()
    assert (
        f'<form method="post" action="/access/requests/{approved.accession}/renew/" '
        'class="inline">' in detail
    )

    response = client.post(f"/access/requests/{approved.accession}/renew/")

    renewal = AccessRequest.objects.exclude(pk=approved.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/access/requests/{renewal.accession}/edit/?step=project"
    assert renewal.status == RequestStatus.DRAFT
    assert renewal.renewal_of == approved
    assert (renewal.title, renewal.primary_use, renewal.countries) == (
        "Variants in heart disease",
        "HMB",
        ["GB"],
    )
    assert list(renewal.datasets.all()) == [cohort.dataset]
    assert renewal.security_attestation is False
    wizard = client.get(response["Location"]).content.decode()
    assert (
        f"{renewal.accession} renews {approved.accession}, pre-filled from it. Check every step, "
        "confirm the data-security attestation, then submit." in wizard
    )
    assert 'value="Variants in heart disease"' in wizard
    assert (
        f'Renewal of <a href="/access/requests/{approved.accession}/">{approved.accession}</a>.'
        in wizard
    )
    old = client.get(f"/access/requests/{approved.accession}/").content.decode()
    assert (
        f'Renewed by <a href="/access/requests/{renewal.accession}/">{renewal.accession}</a> '
        "(draft)." in old
    )


def test_a_draft_cannot_be_renewed(draft: AccessRequest, researcher: User) -> None:
    response = signed_in_client(researcher).post(f"/access/requests/{draft.accession}/renew/")

    assert response.status_code == 409
    assert (
        "Only an approved or expired request can be renewed; this one is draft."
        in response.content.decode()
    )
    assert AccessRequest.objects.count() == 1
