"""The consent admin shows every consent model and writes none: each write has a steward or
participant page that goes through its service."""

from __future__ import annotations

import pytest
from django.test import Client

from consent.models import ConsentRecord, ConsentVersion, Participant, VersionStatus
from portal.models import Role, User
from tests.conftest import signed_in_client
from tests.consent.conftest import give, make_version
from tests.factories import UserFactory

MODELS = [
    "participant",
    "consentdocument",
    "consentversion",
    "consentrecord",
    "currentconsent",
    "participantproxy",
    "consentreceipt",
    "consentquestion",
]


@pytest.fixture
def admin_client(db: None) -> Client:
    operator = UserFactory(
        email="operator@example.org", role=Role.STEWARD, is_staff=True, is_superuser=True
    )
    return signed_in_client(operator)


@pytest.mark.parametrize("model", MODELS)
def test_admin_lists_every_consent_model(
    admin_client: Client, enrolled: Participant, version: ConsentVersion, model: str
) -> None:
    give(enrolled, version)

    response = admin_client.get(f"/admin/consent/{model}/")

    assert response.status_code == 200
    assert f"/admin/consent/{model}/add/" not in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_admin_cannot_add(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/consent/{model}/add/").status_code == 403


def test_admin_cannot_change_or_delete_a_record(
    admin_client: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    record = give(enrolled, version)
    url = f"/admin/consent/consentrecord/{record.pk}/change/"

    page = admin_client.get(url).content.decode()
    posted = admin_client.post(url, {"signature": "Someone Else"})
    deleted = admin_client.post(
        f"/admin/consent/consentrecord/{record.pk}/delete/", {"post": "yes"}
    )

    assert 'name="signature"' not in page
    assert posted.status_code == 403
    assert deleted.status_code == 403
    assert ConsentRecord.objects.get().signature == "Pat Participant"


def test_admin_draft_version_is_shown_not_edited(admin_client: Client, steward: User) -> None:
    draft = make_version(steward)
    url = f"/admin/consent/consentversion/{draft.pk}/change/"

    page = admin_client.get(url).content.decode()
    posted = admin_client.post(url, {"title": "Changed behind the service's back"})

    assert "Main study consent, version 1" in page
    assert 'name="title"' not in page
    assert 'name="choices-0-key"' not in page
    assert "May your data be used for any research?" in page
    assert posted.status_code == 403
    draft.refresh_from_db()
    assert draft.title == "Main study consent, version 1"
    assert draft.status == VersionStatus.DRAFT


def test_admin_has_no_publish_action(admin_client: Client, steward: User) -> None:
    draft = make_version(steward)

    admin_client.post(
        "/admin/consent/consentversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
    )

    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_admin_participant_is_not_edited(admin_client: Client, enrolled: Participant) -> None:
    url = f"/admin/consent/participant/{enrolled.pk}/change/"

    posted = admin_client.post(url, {"study_id": "CHANGED", "language": "cy"})

    assert posted.status_code == 403
    enrolled.refresh_from_db()
    assert enrolled.study_id != "CHANGED"
