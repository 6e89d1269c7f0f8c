"""Every researcher page: anonymous visitors go to sign-in, outsiders see nothing (404)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from access.models import AccessRequest, CoApplicant, EthicsDocument
from access.services import coapplicant_invite, ethics_upload, invitation_token
from portal.models import User
from tests.conftest import signed_in_client

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def targets(draft: AccessRequest, researcher: User, settings: Any, tmp_path: Path) -> Any:
    settings.CUSTODIAN_PRIVATE_ROOT = tmp_path
    invitation = coapplicant_invite(actor=researcher, request=draft, email="someone@example.org")
    document = ethics_upload(actor=researcher, request=draft, name="a.pdf", content=PDF)
    return draft.accession, invitation, document


def _request_urls(accession: str, invitation: CoApplicant, document: EthicsDocument) -> list:
    base = f"/access/requests/{accession}"
    return [
        ("get", f"{base}/"),
        ("get", f"{base}/edit/"),
        ("get", f"{base}/edit/?step=review"),
        ("post", f"{base}/edit/?step=project"),
        ("post", f"{base}/submit/"),
        ("get", f"{base}/withdraw/"),
        ("post", f"{base}/withdraw/"),
        ("post", f"{base}/renew/"),
        ("get", f"{base}/pdf/"),
        ("post", f"{base}/coapplicants/"),
        ("post", f"{base}/coapplicants/{invitation.pk}/cancel/"),
        ("post", f"{base}/agreements/accept/"),
        ("post", f"{base}/ethics/"),
        ("get", f"{base}/ethics/{document.pk}/"),
    ]


def test_anonymous_is_sent_to_sign_in_everywhere(targets: Any) -> None:
    accession, invitation, document = targets
    urls = [
        ("get", "/access/researcher/"),
        ("get", "/access/requests/new/"),
        ("post", "/access/requests/new/"),
        ("get", f"/access/invitations/{invitation_token(invitation)}/"),
        ("post", f"/access/invitations/{invitation_token(invitation)}/"),
        *_request_urls(accession, invitation, document),
    ]
    client = Client()

    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/account/sign-in/?next="), (method, url)


def test_outsider_gets_404_for_every_request_page(targets: Any, outsider: User) -> None:
    accession, invitation, document = targets
    client = signed_in_client(outsider)

    for method, url in _request_urls(accession, invitation, document):
        assert getattr(client, method)(url).status_code == 404, (method, url)
    assert AccessRequest.objects.get().status == "draft"
    assert CoApplicant.objects.get().status == "pending"


def test_committee_members_see_nothing_of_a_draft(targets: Any, dac_member: User) -> None:
    accession, invitation, document = targets
    client = signed_in_client(dac_member)

    for method, url in _request_urls(accession, invitation, document):
        assert getattr(client, method)(url).status_code == 404, (method, url)


def test_unknown_request_is_404(researcher: User) -> None:
    assert signed_in_client(researcher).get("/access/requests/CAR999999/").status_code == 404


def test_outsider_has_an_empty_home_and_may_start_a_request(outsider: User) -> None:
    client = signed_in_client(outsider)

    home = client.get("/access/researcher/")

    assert home.status_code == 200
    assert "You have no access requests yet." in home.content.decode()
    assert client.get("/access/requests/new/").status_code == 200


def test_other_roles_are_refused_the_researcher_pages(participant: User) -> None:
    client = signed_in_client(participant)

    for url in ("/access/researcher/", "/access/requests/new/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "This page is for researchers." in response.content.decode()
