from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from django.core import mail
from rest_framework.test import APIClient

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant
from portal.models import User
from tests.consent.conftest import ALL_YES, give
from tests.factories import api_token_for

PROBLEM = "application/problem+json"


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def _body(consent_version: ConsentVersion, user: User, **changes: object) -> dict[str, object]:
    return {
        "version": consent_version.pk,
        "answers": ALL_YES,
        "signature": user.full_name,
        "expected_sequence": 0,
        **changes,
    }


def test_participant_reads_empty_then_gives_consent(
    enrolled: Participant, version: ConsentVersion
) -> None:
    client = client_for(enrolled.user)
    assert client.get("/api/v1/consent/me/").json() == {
        "study_id": enrolled.study_id,
        "sequence": 0,
        "status": "none",
        "suspended": False,
        "version": None,
        "document": None,
        "version_number": None,
        "language": None,
        "answers": {},
        "updated_at": None,
    }

    response = client.post("/api/v1/consent/me/", _body(version, enrolled.user), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["sequence"] == 1
    assert response.json()["status"] == "active"
    assert response.json()["answers"] == ALL_YES
    assert ConsentRecord.objects.get().channel == "api"


def test_stale_update_is_409_problem_and_nothing_written(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    client = client_for(enrolled.user)

    response = client.post(
        "/api/v1/consent/me/",
        _body(version, enrolled.user, answers={**ALL_YES, "general": "no"}, expected_sequence=0),
        format="json",
    )

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "stale_consent"
    assert ConsentRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"answers": {**ALL_YES, "telepathy": "yes"}}, 400, "unknown_choice"),
        ({"answers": {**ALL_YES, "general": "ask"}}, 400, "answer_not_allowed"),
        ({"signature": ""}, 400, "signature_missing"),
        ({"signature": "Not Me"}, 400, "signature_mismatch"),
        ({"version": 999999}, 404, "not_found"),
        ({"expected_sequence": -1}, 400, "invalid"),
    ],
)
def test_bad_updates_are_precise_problems(
    enrolled: Participant,
    version: ConsentVersion,
    changes: dict[str, object],
    status: int,
    code: str,
) -> None:
    response = client_for(enrolled.user).post(
        "/api/v1/consent/me/", _body(version, enrolled.user, **changes), format="json"
    )

    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code
    assert not CurrentConsent.objects.exists()


def test_withdrawal_via_api_and_twice_refused(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    client = client_for(enrolled.user)
    body = {"level": "no_use", "signature": enrolled.user.full_name, "expected_sequence": 1}

    first = client.post("/api/v1/consent/me/withdrawal/", body, format="json")
    second = client.post(
        "/api/v1/consent/me/withdrawal/", {**body, "expected_sequence": 2}, format="json"
    )

    assert first.status_code == 201
    assert first.json()["status"] == "no_use"
    assert second.status_code == 400
    assert second.json()["code"] == "already_withdrawn"


def test_an_update_and_a_withdrawal_answer_with_the_state_a_later_read_returns(
    enrolled: Participant, version: ConsentVersion
) -> None:
    give(enrolled, version)
    client = client_for(enrolled.user)
    changed = {**ALL_YES, "general": "no"}

    updated = client.post(
        "/api/v1/consent/me/",
        _body(version, enrolled.user, answers=changed, expected_sequence=1),
        format="json",
    )
    after_update = client.get("/api/v1/consent/me/").json()
    withdrawn = client.post(
        "/api/v1/consent/me/withdrawal/",
        {"level": "no_contact", "signature": enrolled.user.full_name, "expected_sequence": 2},
        format="json",
    )
    after_withdrawal = client.get("/api/v1/consent/me/").json()

    assert updated.status_code == 201, updated.content
    assert updated.json() == after_update
    assert {k: v for k, v in after_update.items() if k != "updated_at"} == {
        "study_id": enrolled.study_id,
        "sequence": 2,
        "status": "active",
        "suspended": False,
        "version": version.pk,
        "document": "Main study consent",
        "version_number": 1,
        "language": "en",
        "answers": changed,
    }
    assert withdrawn.status_code == 201, withdrawn.content
    assert withdrawn.json() == after_withdrawal
    assert after_withdrawal["sequence"] == 3
    assert after_withdrawal["status"] == "no_contact"
    assert after_withdrawal["answers"] == changed
    records = ConsentRecord.objects.filter(participant=enrolled).order_by("sequence")
    assert [r.created_at for r in records][1:] == [
        datetime.fromisoformat(after_update["updated_at"]),
        datetime.fromisoformat(after_withdrawal["updated_at"]),
    ]


def test_duo_view_lists_conditions(enrolled: Participant, version: ConsentVersion) -> None:
    give(enrolled, version, {**ALL_YES, "general": "no", "commercial": "no"})

    body = client_for(enrolled.user).get("/api/v1/consent/me/duo/").json()

    assert body["releasable"] is True
    assert body["conditions"] == [
        {"permission": "HMB", "modifiers": ["NPUNCU"], "countries": []},
        {"permission": "POA", "modifiers": ["NPUNCU"], "countries": []},
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/consent/me/",
        "/api/v1/consent/me/duo/",
        "/api/v1/consent/me/records/",
        "/api/v1/consent/participants/",
    ],
)
def test_anonymous_gets_401_problem(db: None, path: str) -> None:
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM


def test_non_participant_gets_403_on_own_consent(researcher: User) -> None:
    response = client_for(researcher).get("/api/v1/consent/me/")

    assert response.status_code == 403
    assert response.json()["detail"] == "This endpoint is for participants."


def test_steward_lists_and_filters_participants(
    steward: User, enrolled: Participant, other_participant: User, version: ConsentVersion
) -> None:
    give(enrolled, version, {**ALL_YES, "general": "no"})
    client = client_for(steward)

    everyone = client.get("/api/v1/consent/participants/").json()
    no_consent = client.get("/api/v1/consent/participants/?status=none").json()
    gru = client.get("/api/v1/consent/participants/?permits=GRU").json()
    hmb = client.get("/api/v1/consent/participants/?permits=HMB").json()
    bad = client.get("/api/v1/consent/participants/?status=happy")

    assert everyone["count"] == 2
    assert [p["study_id"] for p in no_consent["results"]] == [
        other_participant.participant.study_id
    ]
    assert gru["count"] == 0
    assert [p["consent"]["answers"]["general"] for p in hmb["results"]] == ["no"]
    assert bad.status_code == 400
    assert "status" in bad.json()["errors"]


def test_outsider_cannot_list_participants(outsider: User) -> None:
    assert client_for(outsider).get("/api/v1/consent/participants/").status_code == 403


def test_api_update_emails_a_pdf_receipt(
    enrolled: Participant,
    version: ConsentVersion,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(enrolled.user).post(
            "/api/v1/consent/me/", _body(version, enrolled.user), format="json"
        )

    assert response.status_code == 201
    receipt_mail = mail.outbox[-1]
    assert receipt_mail.to == [enrolled.user.email]
    (name, content, mimetype) = receipt_mail.attachments[0]
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert ConsentRecord.objects.get().receipt.sha256 == hashlib.sha256(content).hexdigest()
