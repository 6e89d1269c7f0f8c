from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from consent.models import ConsentVersion, Participant
from consent.services import consent_version_create, consent_version_publish
from portal.models import User
from tests.consent.conftest import CHOICES

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(enrolled: Participant, sign_in: Any) -> Client:
    return sign_in(enrolled.user)


def test_wrong_answer_shows_the_explanation_and_asks_again(
    client_in: Client, version: ConsentVersion
) -> None:
    response = client_in.post("/consent/form/questions/", {"q1": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "One answer was not right" in html
    assert "You can withdraw whenever you like, without giving a reason." in html
    # Asked again: the wrong answer is not kept selected.
    assert 'value="1" id="id_q1_1" required checked' not in html
    assert 'value="1" id="id_q1_1" checked' not in html
    assert client_in.get("/consent/form/choices/")["Location"] == "/consent/form/questions/"


def test_right_answer_after_a_wrong_one_passes(client_in: Client, version: ConsentVersion) -> None:
    client_in.post("/consent/form/questions/", {"q1": "1"})

    response = client_in.post("/consent/form/questions/", {"q1": "0"})

    assert response.status_code == 302
    assert response["Location"] == "/consent/form/choices/"
    assert client_in.get("/consent/form/choices/").status_code == 200


def test_no_explanation_before_an_answer(client_in: Client, version: ConsentVersion) -> None:
    html = client_in.get("/consent/form/questions/").content.decode()

    assert "<legend>Can you withdraw at any time?</legend>" in html
    assert "You can withdraw whenever you like" not in html


def test_unanswered_question_is_asked_for(client_in: Client, version: ConsentVersion) -> None:
    response = client_in.post("/consent/form/questions/", {})

    assert response.status_code == 400
    assert "Choose an answer to this question." in response.content.decode()


def test_only_wrong_answers_are_asked_again(
    client_in: Client, enrolled: Participant, steward: User
) -> None:
    from consent.services import consent_document_create

    document = consent_document_create(actor=steward, name="Two questions", country="GB")
    questions = [
        {"text": "Q one?", "options": ["A", "B"], "correct_option": 1, "explanation": "E one."},
        {"text": "Q two?", "options": ["C", "D"], "correct_option": 0, "explanation": "E two."},
    ]
    draft = consent_version_create(
        actor=steward,
        document=document,
        number=1,
        language="en",
        title="Two",
        questions=questions,
        choices=CHOICES,
    )
    consent_version_publish(actor=steward, version=draft)

    html = client_in.post("/consent/form/questions/", {"q1": "1", "q2": "1"}).content.decode()

    assert "E two." in html
    assert "E one." not in html
    assert 'value="1" id="id_q1_1" required checked' in html


def test_version_without_questions_goes_straight_to_choices(
    client_in: Client, enrolled: Participant, steward: User
) -> None:
    from consent.services import consent_document_create

    document = consent_document_create(actor=steward, name="No questions", country="GB")
    draft = consent_version_create(
        actor=steward,
        document=document,
        number=1,
        language="en",
        title="Plain",
        choices=CHOICES,
    )
    consent_version_publish(actor=steward, version=draft)

    response = client_in.get("/consent/form/questions/")

    assert response["Location"] == "/consent/form/choices/"
    assert client_in.get("/consent/form/choices/").status_code == 200
