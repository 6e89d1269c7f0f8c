from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant, RecordKind
from consent.selectors import consent_version_to_sign
from consent.services import consent_document_create, consent_version_publish
from portal.models import User
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version

pytestmark = pytest.mark.django_db

NEW_CHOICES = [
    *CHOICES,
    {
        "key": "storage",
        "question": "May we store your samples for future research?",
        "meaning": "sample_storage",
        "allowed_answers": ["yes", "no"],
    },
]


@pytest.fixture
def client_in(enrolled: Participant, version: ConsentVersion, sign_in: Any) -> Client:
    give(enrolled, version, {**ALL_YES, "commercial": "no"})
    return sign_in(enrolled.user)


def _publish_v2(steward: User, version: ConsentVersion, *, suspends: bool) -> ConsentVersion:
    newer = make_version(steward, number=2, document=version.document, choices=NEW_CHOICES)
    return consent_version_publish(actor=steward, version=newer, suspends_previous=suspends)


def test_banner_says_old_consent_stays_in_force(
    client_in: Client, version: ConsentVersion, steward: User
) -> None:
    _publish_v2(steward, version, suspends=False)

    html = client_in.get("/consent/").content.decode()

    assert "Please review the new version of your consent form" in html
    assert "Your current consent (version 1) stays in force until you review" in html
    assert "Your consent is suspended" not in html
    assert '<a class="button" href="/consent/form/">Review version 2</a>' in html
    # A single change would sign a version no longer in force: not offered.
    assert "/consent/change/" not in html


def test_banner_says_consent_is_suspended_when_the_steward_decided_so(
    client_in: Client, version: ConsentVersion, steward: User
) -> None:
    _publish_v2(steward, version, suspends=True)

    html = client_in.get("/consent/").content.decode()

    assert "Your consent is suspended until you review it:" in html
    assert "(suspended until you review the new version)" in html


def test_reconsent_prefills_matching_answers_and_records_reconsent(
    client_in: Client, enrolled: Participant, version: ConsentVersion, steward: User
) -> None:
    newer = _publish_v2(steward, version, suspends=True)
    client_in.post("/consent/form/questions/", {"q1": "0"})

    choices = client_in.get("/consent/form/choices/").content.decode()
    assert 'value="no" id="id_choice-commercial_1" checked' in choices
    assert 'id="id_choice-storage_0" checked' not in choices

    answers = {**ALL_YES, "commercial": "no", "storage": "no"}
    client_in.post("/consent/form/choices/", {f"choice-{k}": v for k, v in answers.items()})
    response = client_in.post(
        "/consent/form/review/",
        {
            **{f"choice-{k}": v for k, v in answers.items()},
            "signature": "Pat Participant",
            "expected_sequence": "1",
            "version": newer.pk,
        },
    )

    assert response.status_code == 302
    record = ConsentRecord.objects.get(participant=enrolled, sequence=2)
    assert record.kind == RecordKind.RECONSENT
    assert record.version == newer
    current = CurrentConsent.objects.get(participant=enrolled)
    assert current.suspended is False
    html = client_in.get("/consent/").content.decode()
    assert "Please review the new version" not in html
    assert "<h3>Consented to a new version (version 2)</h3>" in html
    assert (
        'May we store your samples for future research? <span class="change">'
        "(new question) <strong>No</strong>"
    ) in html


def test_same_choices_need_no_reconsent_and_changes_carry_over(
    client_in: Client, enrolled: Participant, version: ConsentVersion, steward: User
) -> None:
    newer = consent_version_publish(
        actor=steward, version=make_version(steward, number=2, document=version.document)
    )

    html = client_in.get("/consent/").content.decode()
    changed = client_in.post(
        "/consent/change/commercial/",
        {"choice-commercial": "yes", "signature": "Pat Participant", "expected_sequence": "1"},
    )

    assert "Please review the new version" not in html
    assert "An updated consent form (version 2) was published." in html
    assert changed.status_code == 302
    assert ConsentRecord.objects.get(participant=enrolled, sequence=2).version == newer


def test_version_in_the_participants_language_else_english(
    enrolled: Participant, steward: User
) -> None:
    document = consent_document_create(actor=steward, name="Languages", country="GB")
    english = consent_version_publish(
        actor=steward, version=make_version(steward, document=document)
    )
    french = consent_version_publish(
        actor=steward, version=make_version(steward, document=document, language="fr")
    )

    assert consent_version_to_sign(enrolled) == english
    enrolled.language = "fr"
    assert consent_version_to_sign(enrolled) == french
    enrolled.language = "de"
    assert consent_version_to_sign(enrolled) == english
