"""'Who used my data': approved requests whose purpose the participant's consent permitted."""

from __future__ import annotations

from django.test import Client

from access.models import AccessRequest
from portal.models import User
from tests.access.conftest import Cohort, approve_by_votes
from tests.conftest import signed_in_client

URL = "/access/my-data/"


def test_participant_sees_honest_empty_state(participant: User) -> None:
    response = signed_in_client(participant).get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Who used my data</h1>" in page
    assert "No research project has been approved to use data that includes yours." in page


def test_consenting_participant_sees_the_approved_request(
    in_review: AccessRequest, cohort: Cohort, dac_chair: User, dac_member: User
) -> None:
    approved = approve_by_votes(in_review, dac_chair, dac_member)

    page = signed_in_client(cohort.consenting[0].user).get(URL).content.decode()

    assert "<h2>Variants in heart disease</h2>" in page
    assert "We look for DNA changes linked to heart disease." in page
    assert "<dt>Institution</dt><dd>Example University</dd>" in page
    assert "<dt>Status</dt><dd>Approved</dd>" in page
    assert f"<dt>Reference</dt><dd>{approved.accession}</dd>" in page


def test_refusing_participant_does_not_see_it(
    in_review: AccessRequest, cohort: Cohort, dac_chair: User, dac_member: User
) -> None:
    approve_by_votes(in_review, dac_chair, dac_member)

    page = signed_in_client(cohort.refusing[0].user).get(URL).content.decode()

    assert "Variants in heart disease" not in page
    assert "No research project has been approved to use data that includes yours." in page


def test_a_request_under_review_is_not_listed(in_review: AccessRequest, cohort: Cohort) -> None:
    page = signed_in_client(cohort.consenting[0].user).get(URL).content.decode()

    assert "Variants in heart disease" not in page


def test_participant_menu_links_the_page(participant: User) -> None:
    page = signed_in_client(participant).get("/consent/").content.decode()

    assert 'href="/access/my-data/"' in page


def test_other_roles_are_refused(researcher: User) -> None:
    response = signed_in_client(researcher).get(URL)

    assert response.status_code == 403
    assert "This page is for participants." in response.content.decode()


def test_anonymous_is_sent_to_sign_in(db: None) -> None:
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
