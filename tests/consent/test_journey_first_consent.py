from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import (
    ConsentRecord,
    ConsentVersion,
    CurrentConsent,
    Participant,
    RecordKind,
)
from consent.services import consent_document_create, consent_version_publish
from portal.models import User
from tests.consent.conftest import ALL_YES, CHOICES, make_version

pytestmark = pytest.mark.django_db


def _choices(answers: dict[str, str]) -> dict[str, str]:
    return {f"choice-{key}": value for key, value in answers.items()}


@pytest.fixture
def client_in(enrolled: Participant, sign_in: Any) -> Client:
    return sign_in(enrolled.user)


def test_start_page_shows_the_version_and_the_steps(
    client_in: Client, version: ConsentVersion
) -> None:
    response = client_in.get("/consent/form/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Main study consent, version 1</h1>" in html
    assert "Answer a short question that checks the form was clear." in html
    assert 'href="/consent/form/section/1/"' in html


def test_sections_are_read_one_by_one_then_the_questions(
    client_in: Client, version: ConsentVersion
) -> None:
    response = client_in.get("/consent/form/section/1/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Why we ask</h1>" in html
    assert "<p>We study DNA to understand disease.</p>" in html
    assert "section 1 of 1" in html
    assert 'href="/consent/form/questions/">Continue to the questions' in html
    assert client_in.get("/consent/form/section/2/").status_code == 404


def test_markdown_is_rendered_and_raw_html_removed(
    client_in: Client, enrolled: Participant, steward: User
) -> None:
    document = consent_document_create(actor=steward, name="Markdown study", country="GB")
    draft = make_version(steward, document=document)
    draft.body = "Read **carefully**.\n\n<script>alert('x')</script><img src=x onerror=alert(1)>"
    draft.save()
    draft.sections.update(body="* one\n* [two](javascript:alert(1))")
    consent_version_publish(actor=steward, version=draft)

    start = client_in.get("/consent/form/").content.decode()
    section = client_in.get("/consent/form/section/1/").content.decode()

    assert "<strong>carefully</strong>" in start
    assert "<script>alert" not in start
    assert "onerror" not in start
    assert "<li>one</li>" in section
    assert "javascript:" not in section


def test_choices_wait_for_the_questions(client_in: Client, version: ConsentVersion) -> None:
    assert client_in.get("/consent/form/choices/")["Location"] == "/consent/form/questions/"
    assert client_in.get("/consent/form/review/")["Location"] == "/consent/form/questions/"


def test_right_quiz_answer_leads_to_choices(client_in: Client, version: ConsentVersion) -> None:
    response = client_in.post("/consent/form/questions/", {"q1": "0"})

    assert response.status_code == 302
    assert response["Location"] == "/consent/form/choices/"
    choices = client_in.get("/consent/form/choices/").content.decode()
    assert "<legend>May your data be used for any research?</legend>" in choices


def test_first_consent_from_choices_to_signature(
    client_in: Client, enrolled: Participant, version: ConsentVersion
) -> None:
    answers = {**ALL_YES, "commercial": "ask", "abroad": "no"}
    client_in.post("/consent/form/questions/", {"q1": "0"})

    to_review = client_in.post("/consent/form/choices/", _choices(answers))
    review = client_in.get("/consent/form/review/")

    assert to_review["Location"] == "/consent/form/review/"
    html = review.content.decode()
    assert "<td>May companies use your data?</td><td><strong>Ask me each time</strong></td>" in html
    assert '<input type="hidden" name="choice-abroad" value="no">' in html
    assert f'name="version" value="{version.pk}"' in html
    assert 'name="expected_sequence" value="0"' in html

    signed = client_in.post(
        "/consent/form/review/",
        {
            **_choices(answers),
            "signature": "pat  PARTICIPANT",
            "expected_sequence": "0",
            "version": version.pk,
        },
    )

    record = ConsentRecord.objects.get(participant=enrolled)
    assert record.kind == RecordKind.CONSENT
    assert record.answers == dict(sorted(answers.items()))
    assert record.signature == "pat PARTICIPANT"
    assert record.channel == "web"
    assert signed.status_code == 302
    assert signed["Location"] == f"/consent/receipts/{record.pk}/"
    assert CurrentConsent.objects.get(participant=enrolled).sequence == 1
    receipt = client_in.get(signed["Location"]).content.decode()
    assert "Thank you: your consent is recorded." in receipt
    assert record.record_hash in receipt
    # The wizard starts afresh after signing.
    assert client_in.get("/consent/form/choices/")["Location"] == "/consent/form/questions/"


def test_choice_without_ask_offers_no_ask(client_in: Client, version: ConsentVersion) -> None:
    client_in.post("/consent/form/questions/", {"q1": "0"})

    html = client_in.get("/consent/form/choices/").content.decode()

    assert 'name="choice-ancestry" value="ask"' in html
    assert 'name="choice-general" value="ask"' not in html
    assert len(CHOICES) == html.count("<fieldset")
