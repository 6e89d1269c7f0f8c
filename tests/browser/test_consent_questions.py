"""A participant who chose "ask me each time" answers a request in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from consent.models import ConsentQuestion, ConsentVersion, QuestionStatus
from consent.services import consent_question_raise, consent_version_publish
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import ALL_YES, give, make_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asked(steward: User, participant: User) -> ConsentVersion:
    version = consent_version_publish(actor=steward, version=make_version(steward))
    give(participant.participant, version, {**ALL_YES, "ancestry": "ask"})
    for title, institution in [
        ("Origins of the Welsh population", "Cardiff University"),
        ("Migration across Europe", "University of Oslo"),
    ]:
        consent_question_raise(
            actor=None,
            participant=participant.participant,
            choice_key="ancestry",
            title=title,
            summary="Compares genomes of people from several regions to trace migrations.",
            institution=institution,
        )
    return version


def _look(page: Page, name: str) -> None:
    screenshot(page, f"consent-questions-{name}")
    assert_accessible(page)


def test_participant_answers_a_request_to_use_their_data(
    page: Page, participant: User, asked: ConsentVersion
) -> None:
    browser_sign_in(page, participant)
    banner = page.get_by_role("region", name="2 requests to use your data need your answer")
    expect(banner).to_be_visible()
    _look(page, "01-home-banner")

    banner.get_by_role("link", name="Read and answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests to use your data")
    first = page.get_by_role("article", name="Origins of the Welsh population")
    first.get_by_role("button", name="Send my answer").click()
    expect(
        page.get_by_role("group", name="May “Origins of the Welsh population” use the data?")
    ).to_contain_text("Choose yes or no.")
    _look(page, "02-missing-answer")

    first = page.get_by_role("article", name="Origins of the Welsh population")
    first.get_by_label("Yes, the data may be used for this").check()
    first.get_by_role("button", name="Send my answer").click()
    expect(
        page.get_by_text("Thank you: your answer “yes” about “Origins of the Welsh population”")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Waiting for your answer (1)")).to_be_visible()
    expect(page.get_by_role("row", name="Origins of the Welsh population")).to_contain_text("Yes")
    _look(page, "03-answered")

    answered = ConsentQuestion.objects.get(request_title="Origins of the Welsh population")
    assert (answered.status, answered.answer) == (QuestionStatus.ANSWERED, "yes")
