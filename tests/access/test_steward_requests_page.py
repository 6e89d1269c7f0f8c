"""Stewards see every access request, filtered by state."""

from __future__ import annotations

from django.test import Client

from access.models import AccessRequest
from portal.models import User
from tests.conftest import signed_in_client

URL = "/access/steward/requests/"


def test_steward_sees_every_request_and_filters_by_state(
    in_review: AccessRequest, steward: User
) -> None:
    client = signed_in_client(steward)

    everything = client.get(URL).content.decode()
    under_review = client.get(URL, {"state": "under_review"}).content.decode()
    drafts = client.get(URL, {"state": "draft"}).content.decode()

    link = f'<a href="/access/review/{in_review.accession}/">{in_review.accession}</a>'
    assert link in everything
    assert "<caption>1 request</caption>" in everything
    assert link in under_review
    assert link not in drafts
    assert "No access request in this state." in drafts


def test_committee_member_is_refused(dac_member: User) -> None:
    response = signed_in_client(dac_member).get(URL)

    assert response.status_code == 403
    assert "This page is for data stewards." in response.content.decode()


def test_outsider_is_refused(outsider: User) -> None:
    assert signed_in_client(outsider).get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in(db: None) -> None:
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
