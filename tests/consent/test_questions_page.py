"""The participant's page of "ask me each time" questions, and the dashboard banner."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consent.models import ConsentQuestion, ConsentVersion, Participant, QuestionStatus
from consent.services import consent_question_raise, proxy_link
from consent.views.common import ACTING_FOR
from portal.models import Role, User
from tests.consent.conftest import ALL_YES, give
from tests.factories import UserFactory

URL = "/consent/questions/"


def _raise(participant: Participant, title: str = "Origins of the Welsh") -> ConsentQuestion:
    return consent_question_raise(
        actor=None,
        participant=participant,
        choice_key="ancestry",
        title=title,
        summary="Compares genomes from Wales with other populations.",
        institution="Cardiff University",
    )


@pytest.fixture
def question(enrolled: Participant, version: ConsentVersion) -> ConsentQuestion:
    give(enrolled, version, {**ALL_YES, "ancestry": "ask"})
    return _raise(enrolled)


def test_questions_page_lists_pending_questions_with_a_form_each(
    enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    _raise(enrolled, title="Migration in Europe")

    response = sign_in(enrolled.user).get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Waiting for your answer (2)" in page
    assert f'<h3 id="question-{question.pk}">Origins of the Welsh</h3>' in page
    assert "Migration in Europe</h3>" in page
    assert "Cardiff University" in page
    assert "<strong>May your data be used for ancestry research?</strong>" in page
    assert f'action="/consent/questions/{question.pk}/answer/"' in page
    assert f'name="q{question.pk}-answer" value="yes"' in page
    assert "<legend>May “Origins of the Welsh” use the data?</legend>" in page


def test_answering_moves_the_question_to_earlier_requests(
    enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)

    response = client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "no"})

    assert response.status_code == 302
    assert response["Location"] == URL
    question.refresh_from_db()
    assert (question.status, question.answer, question.answered_by) == (
        QuestionStatus.ANSWERED,
        "no",
        enrolled.user,
    )
    page = client.get(URL).content.decode()
    assert "Thank you: your answer “no” about “Origins of the Welsh” is recorded." in page
    assert "Waiting for your answer (0)" in page
    assert '<td class="long-text">Origins of the Welsh</td>' in page
    assert "<strong>No</strong>" in page


def test_answering_twice_is_refused_on_the_page(
    enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)
    client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "no"})

    response = client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "yes"})

    assert response.status_code == 409
    assert "This question was already answered on" in response.content.decode()
    question.refresh_from_db()
    assert question.answer == "no"


def test_answer_without_a_choice_is_refused(
    enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    response = sign_in(enrolled.user).post(f"{URL}{question.pk}/answer/", {})

    assert response.status_code == 400
    assert "Choose yes or no." in response.content.decode()
    question.refresh_from_db()
    assert question.status == QuestionStatus.PENDING


def test_another_participants_question_is_not_found(
    question: ConsentQuestion, other_participant: User, sign_in: Any
) -> None:
    client = sign_in(other_participant)

    response = client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "yes"})

    assert response.status_code == 404
    assert "Origins of the Welsh" not in client.get(URL).content.decode()
    question.refresh_from_db()
    assert question.status == QuestionStatus.PENDING


def test_a_proxy_answers_for_the_child_they_act_for(
    steward: User, enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    enrolled.date_of_birth = timezone.localdate() - dt.timedelta(days=365 * 8)
    enrolled.save()
    guardian = UserFactory(email="gwen@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(actor=steward, participant=enrolled, email=guardian.email, full_name="Gwen G")
    client = sign_in(guardian)
    client.post("/consent/proxy/", {"participant": enrolled.pk})

    page = client.get(URL).content.decode()
    response = client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "yes"})

    assert "<h1>Requests to use Pat's data</h1>" in page
    assert "You are acting as Pat's guardian" in page
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.answered_by == guardian
    assert "(by Gwen Guardian)" in client.get(URL).content.decode()
    assert client.session[ACTING_FOR] == enrolled.pk


def test_dashboard_shows_a_banner_while_questions_wait(
    enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)

    before = client.get("/consent/").content.decode()
    client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "yes"})
    after = client.get("/consent/").content.decode()

    assert "A request to use your data needs your answer" in before
    assert f'<a class="button" href="{URL}">Read and answer</a>' in before
    assert "needs your answer" not in after
    assert f'<a href="{URL}">Your answers to requests to use your data</a>' in after


def test_dashboard_counts_several_questions(
    enrolled: Participant, question: ConsentQuestion, sign_in: Any
) -> None:
    _raise(enrolled, title="Second")
    _raise(enrolled, title="Third")

    page = sign_in(enrolled.user).get("/consent/").content.decode()

    assert "3 requests to use your data need your answer" in page


def test_dashboard_without_questions_has_no_banner(
    enrolled: Participant, version: ConsentVersion, sign_in: Any
) -> None:
    give(enrolled, version)

    page = sign_in(enrolled.user).get("/consent/").content.decode()

    assert "requests to use your data" not in page.lower()


@pytest.mark.parametrize("method", ["get", "post"])
def test_questions_pages_anonymous_is_sent_to_sign_in(
    client: Client, question: ConsentQuestion, method: str
) -> None:
    for url in (URL, f"{URL}{question.pk}/answer/"):
        response = getattr(client, method)(url)

        assert response.status_code == 302
        assert response["Location"] == f"/account/sign-in/?next={url}"


@pytest.mark.parametrize("persona", ["outsider", "steward"])
def test_questions_pages_refuse_other_roles(
    persona: str, question: ConsentQuestion, request: pytest.FixtureRequest, sign_in: Any
) -> None:
    client = sign_in(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 403
    response = client.post(f"{URL}{question.pk}/answer/", {f"q{question.pk}-answer": "yes"})
    assert response.status_code == 403
    question.refresh_from_db()
    assert question.status == QuestionStatus.PENDING
