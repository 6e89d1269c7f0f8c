"""The consent admin: versions editable only as drafts, published through the service,
records and their projection read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.admin import ChoiceInlineForm, QuestionInlineForm
from consent.models import ConsentRecord, ConsentVersion, Participant, VersionStatus
from portal.models import AuditEvent, Role, User
from tests.conftest import signed_in_client
from tests.consent.conftest import give, make_version
from tests.factories import UserFactory


@pytest.fixture
def admin_client(db: None) -> Client:
    operator = UserFactory(
        email="operator@example.org", role=Role.STEWARD, is_staff=True, is_superuser=True
    )
    return signed_in_client(operator)


@pytest.mark.parametrize(
    "model",
    [
        "consentdocument",
        "consentversion",
        "consentrecord",
        "currentconsent",
        "participantproxy",
        "consentreceipt",
        "consentquestion",
    ],
)
def test_admin_lists_every_consent_model(
    admin_client: Client, enrolled: Participant, version: ConsentVersion, model: str
) -> None:
    give(enrolled, version)

    response = admin_client.get(f"/admin/consent/{model}/")

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["consentrecord", "currentconsent", "consentreceipt"])
def test_admin_cannot_add_records(admin_client: Client, model: str) -> None:
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


def test_admin_published_version_is_read_only(
    admin_client: Client, version: ConsentVersion
) -> None:
    page = admin_client.get(f"/admin/consent/consentversion/{version.pk}/change/").content.decode()

    assert 'name="title"' not in page
    assert 'name="choices-0-key"' not in page
    assert "Main study consent, version 1" in page
    assert "/delete/" not in page


def test_admin_draft_version_is_editable(admin_client: Client, steward: User) -> None:
    draft = make_version(steward)

    page = admin_client.get(f"/admin/consent/consentversion/{draft.pk}/change/").content.decode()

    assert 'name="title"' in page
    assert 'name="choices-0-key"' in page


def test_admin_publish_action_uses_the_service(
    admin_client: Client, steward: User, version: ConsentVersion
) -> None:
    draft = make_version(steward, number=2, document=version.document)

    response = admin_client.post(
        "/admin/consent/consentversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
        follow=True,
    )

    draft.refresh_from_db()
    version.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED
    assert version.status == VersionStatus.SUPERSEDED
    assert AuditEvent.objects.filter(action="consentversion.published", object_id=draft.pk).exists()
    assert "is published." in response.content.decode()


def test_admin_publish_action_reports_a_refusal(
    admin_client: Client, steward: User, version: ConsentVersion
) -> None:
    draft = ConsentVersion.objects.create(
        document=version.document, number=2, language="en", title="No choices yet"
    )

    response = admin_client.post(
        "/admin/consent/consentversion/",
        {"action": "publish_versions", "_selected_action": [draft.pk]},
        follow=True,
    )

    assert "Version 2 has no choices: add at least one before publishing." in (
        response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"allowed_answers": '["maybe"]'}, "allowed_answers", 'Some of "yes", "no", "ask"'),
        ({"allowed_answers": '["yes", "yes"]'}, "allowed_answers", 'Some of "yes", "no", "ask"'),
        ({"allowed_answers": "[]"}, "allowed_answers", "This field is required."),
        (
            {"recommended_answer": "ask"},
            "recommended_answer",
            "The recommended answer must be one of the allowed",
        ),
    ],
)
def test_admin_choice_form_checks_answers(
    changes: dict[str, str], field: str, message: str
) -> None:
    data = {
        "order": "1",
        "key": "general",
        "question": "Any research?",
        "explanation": "",
        "meaning": "general_research",
        "allowed_answers": '["yes", "no"]',
        "recommended_answer": "",
        **changes,
    }

    form = ChoiceInlineForm(data)

    assert not form.is_valid()
    assert message in form.errors[field][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"options": '["Only one"]'}, "options"), ({"correct_option": "2"}, "correct_option")],
)
def test_admin_question_form_checks_options(changes: dict[str, Any], field: str) -> None:
    data = {
        "order": "1",
        "text": "Can you withdraw?",
        "options": '["Yes", "No"]',
        "correct_option": "0",
        "explanation": "Always.",
        **changes,
    }

    form = QuestionInlineForm(data)

    assert not form.is_valid()
    assert field in form.errors
