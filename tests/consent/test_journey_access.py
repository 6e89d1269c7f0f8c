"""Who may open the participant's pages: the participant, and only for their own records."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import ConsentRecord, ConsentVersion, Participant
from portal.models import User
from tests.consent.conftest import give

pytestmark = pytest.mark.django_db

PAGES = [
    "/consent/",
    "/consent/form/",
    "/consent/form/section/1/",
    "/consent/form/questions/",
    "/consent/form/choices/",
    "/consent/form/review/",
    "/consent/change/general/",
    "/consent/withdraw/",
    "/consent/withdraw/confirm/?level=no_contact",
    "/consent/receipts/{record}/",
    "/consent/receipts/{record}/pdf/",
]


@pytest.fixture
def record(enrolled: Participant, version: ConsentVersion) -> ConsentRecord:
    return give(enrolled, version)


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_sign_in(client: Client, record: ConsentRecord, page: str) -> None:
    url = page.format(record=record.pk)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=/consent/")


@pytest.mark.parametrize("page", PAGES)
def test_researcher_is_refused(
    researcher: User, record: ConsentRecord, sign_in: Any, page: str
) -> None:
    response = sign_in(researcher).get(page.format(record=record.pk))

    assert response.status_code == 403
    assert "This page is for participants or proxies." in response.content.decode()


@pytest.mark.parametrize(
    "page",
    [
        "/consent/form/questions/",
        "/consent/form/choices/",
        "/consent/form/review/",
        "/consent/change/general/",
        "/consent/withdraw/confirm/",
    ],
)
def test_outsider_cannot_post(
    outsider: User, record: ConsentRecord, sign_in: Any, page: str
) -> None:
    response = sign_in(outsider).post(page, {"level": "no_use", "expected_sequence": "1"})

    assert response.status_code == 403
    assert ConsentRecord.objects.count() == 1


@pytest.mark.parametrize("suffix", ["", "pdf/"])
def test_another_participants_receipt_is_not_found(
    other_participant: User, record: ConsentRecord, sign_in: Any, suffix: str
) -> None:
    response = sign_in(other_participant).get(f"/consent/receipts/{record.pk}/{suffix}")

    assert response.status_code == 404
    assert "Pat Participant" not in response.content.decode()


def test_own_receipt_is_shown(enrolled: Participant, record: ConsentRecord, sign_in: Any) -> None:
    client = sign_in(enrolled.user)

    assert client.get(f"/consent/receipts/{record.pk}/").status_code == 200
    assert client.get(f"/consent/receipts/{record.pk + 1000}/").status_code == 404


def test_another_participant_cannot_withdraw_for_someone_else(
    other_participant: User, record: ConsentRecord, sign_in: Any
) -> None:
    # The pages act only on the signed-in participant: there is no participant to name.
    client = sign_in(other_participant)

    response = client.post(
        "/consent/withdraw/confirm/",
        {
            "level": "no_use",
            "signature": other_participant.full_name,
            "expected_sequence": "0",
            "participant": record.participant_id,
        },
    )

    assert response.status_code == 400
    assert "There is no consent to withdraw." in response.content.decode()
    assert ConsentRecord.objects.count() == 1
