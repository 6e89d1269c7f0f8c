"""No choice is ever made for the participant: nothing preselected on a first consent, a
recommendation only shown, re-consent carrying over only their own previous answers, and
every way in (page, signing, API) refusing a record that lacks any choice."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent, Participant
from consent.services import consent_version_publish
from consent.version_text import parse_choices
from portal.models import AuditEvent, User
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db


class _Radios(HTMLParser):
    """Every radio button of a page: (name, value) of all, and of those checked."""

    def __init__(self, html: str):
        super().__init__()
        self.all: list[tuple[str, str]] = []
        self.checked: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") in {"radio", "checkbox"}:
            pair = (found.get("name") or "", found.get("value") or "")
            self.all.append(pair)
            if "checked" in found:
                self.checked.append(pair)


def _choices(answers: dict[str, str]) -> dict[str, str]:
    return {f"choice-{key}": value for key, value in answers.items()}


def _at_choices(client: Client) -> str:
    client.post("/consent/form/questions/", {"q1": "0"})
    response = client.get("/consent/form/choices/")
    assert response.status_code == 200
    return response.content.decode()


def _label_of(html: str, radio_id: str) -> str:
    start = html.index(f'<label for="{radio_id}">')
    return html[start : html.index("</label>", start)]


def _nothing_written(participant: Participant) -> None:
    assert not ConsentRecord.objects.filter(participant=participant).exists()
    assert not CurrentConsent.objects.filter(participant=participant).exists()
    assert not AuditEvent.objects.filter(action__startswith="consent.").exists()


# --- first consent ------------------------------------------------------------------------------


def test_first_consent_page_has_no_choice_selected(
    enrolled: Participant, version: ConsentVersion, sign_in: Any
) -> None:
    html = _at_choices(sign_in(enrolled.user))

    radios = _Radios(html)
    # Six questions, every answer offered, none chosen (recontact has a recommended "yes").
    assert len({name for name, _ in radios.all}) == 6
    assert ("choice-recontact", "yes") in radios.all
    assert radios.checked == []
    assert " checked" not in html


def test_recommended_answer_is_shown_as_wording_only(
    enrolled: Participant, version: ConsentVersion, sign_in: Any
) -> None:
    html = _at_choices(sign_in(enrolled.user))

    assert _label_of(html, "id_choice-recontact_0") == (
        '<label for="id_choice-recontact_0">Yes <span class="meta">'
        "(recommended by the study team)</span>"
    )
    assert _label_of(html, "id_choice-recontact_1") == '<label for="id_choice-recontact_1">No'
    assert "your previous answer" not in html
    assert "Your answers to the questions you were asked before" not in html


def test_choices_page_without_any_choice_names_every_question(
    enrolled: Participant, version: ConsentVersion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)
    _at_choices(client)

    response = client.post("/consent/form/choices/", {})

    assert response.status_code == 400
    html = response.content.decode()
    summary = html[html.index('role="alert"') : html.index("</div>", html.index('role="alert"'))]
    # One link per question, to the question, in words.
    assert re.findall(r'<a href="#id_choice-(\w+)_fieldset">([^<]*)</a>', summary) == [
        ("general", "May your data be used for any research? — Choose an answer."),
        ("health", "May your data be used for health research? — Choose an answer."),
        ("ancestry", "May your data be used for ancestry research? — Choose an answer."),
        ("commercial", "May companies use your data? — Choose an answer."),
        ("abroad", "May researchers outside the UK use your data? — Choose an answer."),
        ("recontact", "May we contact you again? — Choose an answer."),
    ]
    assert "(recontact)" not in html
    assert "(general)" not in html
    assert _Radios(html).checked == []
    _nothing_written(enrolled)


def test_one_missing_choice_is_named_alone(
    enrolled: Participant, version: ConsentVersion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)
    _at_choices(client)
    answers = {key: value for key, value in ALL_YES.items() if key != "recontact"}

    response = client.post("/consent/form/choices/", _choices(answers))

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        '<li><a href="#id_choice-recontact_fieldset">May we contact you again? — Choose an answer.'
    ) in html
    assert html.count("Choose an answer.") == 2  # in the summary and beside the question
    # What the participant did choose stays chosen; the missing one is still unanswered.
    assert sorted(_Radios(html).checked) == sorted(_choices(answers).items())
    _nothing_written(enrolled)


def test_signing_with_a_choice_missing_or_blank_is_refused(
    enrolled: Participant, version: ConsentVersion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)
    _at_choices(client)
    assert client.post("/consent/form/choices/", _choices(ALL_YES)).status_code == 302
    signed = {"signature": "Pat Participant", "expected_sequence": "0", "version": version.pk}
    without = {key: value for key, value in ALL_YES.items() if key != "recontact"}

    missing = client.post("/consent/form/review/", {**_choices(without), **signed})
    blank = client.post(
        "/consent/form/review/", {**_choices({**ALL_YES, "general": " "}), **signed}
    )

    assert missing.status_code == 400
    assert "Please answer this question: “May we contact you again?”." in missing.content.decode()
    assert blank.status_code == 400
    assert (
        "Please answer this question: “May your data be used for any research?”."
        in blank.content.decode()
    )
    _nothing_written(enrolled)


# --- re-consent ---------------------------------------------------------------------------------

V2_CHOICES: list[dict[str, Any]] = [
    CHOICES[0],  # general: unchanged
    {**CHOICES[1], "allowed_answers": ["no", "ask"]},  # health: "yes" no longer allowed
    {**CHOICES[2], "meaning": "sample_storage"},  # ancestry: the same key now means another use
    CHOICES[3],  # commercial: unchanged
    CHOICES[4],  # abroad: unchanged
    CHOICES[5],  # recontact: unchanged, recommended "yes"
    {
        "key": "results",
        "question": "Would you like results that matter for your health?",
        "meaning": "return_of_results",
        "allowed_answers": ["yes", "no", "ask"],
        "recommended_answer": "yes",
    },
]


@pytest.fixture
def reconsenting(enrolled: Participant, version: ConsentVersion, steward: User) -> ConsentVersion:
    give(enrolled, version, {**ALL_YES, "commercial": "no", "recontact": "no"})
    newer = make_version(steward, number=2, document=version.document, choices=V2_CHOICES)
    return consent_version_publish(actor=steward, version=newer)


def test_reconsent_preselects_only_the_participants_own_answers(
    enrolled: Participant, reconsenting: ConsentVersion, sign_in: Any
) -> None:
    html = _at_choices(sign_in(enrolled.user))

    assert sorted(_Radios(html).checked) == [
        ("choice-abroad", "yes"),
        ("choice-commercial", "no"),
        ("choice-general", "yes"),
        # Their own "no", not the recommended "yes".
        ("choice-recontact", "no"),
    ]
    assert (
        "Your answers to the questions you were asked before are selected and marked "
        "“your previous answer”: check each one. New questions have no answer yet."
    ) in html


def test_reconsent_marks_previous_answers_and_recommendations_apart(
    enrolled: Participant, reconsenting: ConsentVersion, sign_in: Any
) -> None:
    html = _at_choices(sign_in(enrolled.user))

    assert _label_of(html, "id_choice-recontact_0") == (
        '<label for="id_choice-recontact_0">Yes <span class="meta">'
        "(recommended by the study team)</span>"
    )
    assert _label_of(html, "id_choice-recontact_1") == (
        '<label for="id_choice-recontact_1">No <span class="meta">(your previous answer)</span>'
    )
    assert _label_of(html, "id_choice-commercial_1") == (
        '<label for="id_choice-commercial_1">No <span class="meta">(your previous answer)</span>'
    )
    # A new question, an answer no longer allowed, a key whose meaning changed: unanswered.
    assert _label_of(html, "id_choice-results_0") == (
        '<label for="id_choice-results_0">Yes <span class="meta">'
        "(recommended by the study team)</span>"
    )
    assert "previous" not in _label_of(html, "id_choice-health_0")
    assert "previous" not in _label_of(html, "id_choice-ancestry_0")
    assert html.count("(your previous answer)") == 4


def test_reconsent_without_the_new_question_is_refused(
    enrolled: Participant, reconsenting: ConsentVersion, sign_in: Any
) -> None:
    client = sign_in(enrolled.user)
    _at_choices(client)
    carried = {
        "general": "yes",
        "health": "no",
        "ancestry": "no",
        "commercial": "no",
        "abroad": "yes",
        "recontact": "no",
    }

    response = client.post("/consent/form/choices/", _choices(carried))

    assert response.status_code == 400
    assert (
        '<li><a href="#id_choice-results_fieldset">'
        "Would you like results that matter for your health? — Choose an answer.</a></li>"
    ) in response.content.decode()
    assert ConsentRecord.objects.filter(participant=enrolled).count() == 1


# --- the API ------------------------------------------------------------------------------------


def _api(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        (
            {key: value for key, value in ALL_YES.items() if key not in {"health", "recontact"}},
            {
                "health": ["Not answered: “May your data be used for health research?”."],
                "recontact": ["Not answered: “May we contact you again?”."],
            },
        ),
        (
            {**ALL_YES, "general": ""},
            {"general": ["Not answered: “May your data be used for any research?”."]},
        ),
    ],
)
def test_api_consent_lacking_a_choice_is_a_problem_naming_each(
    enrolled: Participant,
    version: ConsentVersion,
    answers: dict[str, str],
    missing: dict[str, list[str]],
) -> None:
    response = _api(enrolled.user).post(
        "/api/v1/consent/me/",
        {
            "version": version.pk,
            "answers": answers,
            "signature": enrolled.user.full_name,
            "expected_sequence": 0,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "missing_answer"
    assert body["errors"] == {"answers": missing}
    assert body["detail"].startswith("Please answer")
    _nothing_written(enrolled)


def test_api_consent_with_no_answers_lists_every_question(
    enrolled: Participant, version: ConsentVersion
) -> None:
    response = _api(enrolled.user).post(
        "/api/v1/consent/me/",
        {
            "version": version.pk,
            "answers": {},
            "signature": enrolled.user.full_name,
            "expected_sequence": 0,
        },
        format="json",
    )

    assert response.status_code == 400
    assert sorted(response.json()["errors"]["answers"]) == [
        "abroad",
        "ancestry",
        "commercial",
        "general",
        "health",
        "recontact",
    ]
    _nothing_written(enrolled)


# --- the steward's version text -----------------------------------------------------------------


def test_version_text_refuses_a_default_and_takes_a_recommendation() -> None:
    text = (
        "key: recontact\nquestion: May we contact you again?\nmeaning: recontact\n"
        "answers: yes, no\ndefault: yes\n\n"
        "key: results\nquestion: Results?\nmeaning: return_of_results\n"
        "answers: yes, no\nrecommended: no\n"
    )

    parsed = parse_choices(text)

    assert parsed.problems == [
        "Line 5: “default” is no longer used: no answer is ever chosen for the participant. "
        "Write “recommended: …” to show the study's recommendation beside the question."
    ]
    assert [item["recommended_answer"] for item in parsed.items] == ["", "no"]
