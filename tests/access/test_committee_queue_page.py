"""The committee's queue: filters by state, dataset and "waiting for my vote", with counts."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from access.models import AccessRequest
from access.services import agreements_accept, vote_cast
from datasets.models import Committee
from portal.models import Role, User
from tests.access.conftest import Cohort, complete_draft, released_dataset, submit_for_review
from tests.conftest import signed_in_client
from tests.factories import UserFactory

URL = "/access/committee/"


def _rows(page: str) -> list[str]:
    return re.findall(r'<a href="/access/review/(CAR\d+)/">', page)


def _waiting(page: str) -> str:
    return re.search(r'id="waiting-count">(\d+)<', page).group(1)


def _count(page: str, label: str) -> str:
    return re.search(rf'aria-label="(\d+) {label}"', page).group(1)


def _second_request(
    researcher: User, steward: User, dac: Committee, agreement: Any, capture: Any
) -> AccessRequest:
    other = released_dataset(steward, dac, title="Second cohort")
    request = complete_draft(researcher, other, title="Second study")
    agreements_accept(actor=researcher, request=request)
    return submit_for_review(request, researcher, capture)


def test_member_sees_the_requests_with_counts(in_review: AccessRequest, dac_member: User) -> None:
    page = signed_in_client(dac_member).get(URL).content.decode()

    assert _rows(page) == [in_review.accession]
    assert _count(page, "under review") == "1"
    assert _count(page, "approved") == "0"
    assert _waiting(page) == "1"
    assert "<strong>Waiting for you</strong>" in page


def test_filter_by_state(in_review: AccessRequest, dac_member: User) -> None:
    client = signed_in_client(dac_member)

    under_review = client.get(URL, {"state": "under_review"}).content.decode()
    assert _rows(under_review) == [in_review.accession]
    empty = client.get(URL, {"state": "approved"}).content.decode()
    assert _rows(empty) == []
    assert "No request matches these filters." in empty
    # The counts stay those of the whole queue.
    assert _count(empty, "under review") == "1"


def test_filter_by_dataset(
    in_review: AccessRequest,
    cohort: Cohort,
    researcher: User,
    steward: User,
    dac: Committee,
    agreement: Any,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    second = _second_request(
        researcher, steward, dac, agreement, django_capture_on_commit_callbacks
    )
    client = signed_in_client(dac_member)

    assert _rows(client.get(URL).content.decode()) == [second.accession, in_review.accession]
    assert _rows(client.get(URL, {"dataset": cohort.dataset.accession}).content.decode()) == [
        in_review.accession
    ]
    only_second = client.get(URL, {"dataset": second.datasets.get().accession})
    assert _rows(only_second.content.decode()) == [second.accession]


def test_a_member_who_voted_is_no_longer_waiting(
    in_review: AccessRequest, dac_member: User, dac_chair: User
) -> None:
    vote_cast(actor=dac_member, review=in_review.reviews.get(), choice="approve", rationale="OK")

    member_page = signed_in_client(dac_member).get(URL, {"waiting": "on"}).content.decode()
    chair_page = signed_in_client(dac_chair).get(URL, {"waiting": "on"}).content.decode()

    assert _waiting(member_page) == "0"
    assert _rows(member_page) == []
    assert _waiting(chair_page) == "1"
    assert _rows(chair_page) == [in_review.accession]


def test_member_without_a_dac_role_may_open_it(in_review: AccessRequest, dac: Committee) -> None:
    steward_member = UserFactory(email="steward.member@example.org", role=Role.STEWARD)
    dac.members.add(steward_member)

    response = signed_in_client(steward_member).get(URL)

    assert response.status_code == 200
    assert _rows(response.content.decode()) == [in_review.accession]


def test_member_of_another_committee_sees_nothing_of_this_one(
    in_review: AccessRequest, other_dac_member: User
) -> None:
    page = signed_in_client(other_dac_member).get(URL).content.decode()

    assert _rows(page) == []
    assert _waiting(page) == "0"


def test_outsider_is_refused(outsider: User) -> None:
    response = signed_in_client(outsider).get(URL)

    assert response.status_code == 403
    assert "This page is for committee members." in response.content.decode()


def test_anonymous_is_sent_to_sign_in(db: None) -> None:
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
