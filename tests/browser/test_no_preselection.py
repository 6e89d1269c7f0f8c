"""In Chromium: a first consent shows no choice selected, a recommendation only in words,
and a submission without any choice names every question; re-consent preselects only the
participant's own previous answers, marked as such."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from consent.models import ConsentRecord, ConsentVersion, Participant
from consent.services import consent_version_publish
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import ALL_YES, CHOICES, give, make_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTIONS = [choice["question"] for choice in CHOICES]


@pytest.fixture
def published(steward: User) -> ConsentVersion:
    return consent_version_publish(actor=steward, version=make_version(steward))


def _to_choices(page: Page, participant: User) -> None:
    browser_sign_in(page, participant)
    page.goto("/consent/form/questions/")
    page.get_by_role("group", name="Can you withdraw at any time?").get_by_label(
        "Yes", exact=True
    ).check()
    page.get_by_role("button", name="Check my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your choices")


def test_first_consent_page_shows_no_selected_choice(
    page: Page, participant: User, published: ConsentVersion
) -> None:
    _to_choices(page, participant)

    expect(page.get_by_role("radio")).to_have_count(14)
    expect(page.get_by_role("radio", checked=True)).to_have_count(0)
    for question in QUESTIONS:
        expect(page.get_by_role("group", name=question)).to_be_visible()
    recontact = page.get_by_role("group", name="May we contact you again?")
    expect(recontact.get_by_text("(recommended by the study team)")).to_be_visible()
    expect(recontact.get_by_label("Yes (recommended by the study team)")).not_to_be_checked()
    screenshot(page, "no-preselection-01-first-consent")
    assert_accessible(page)

    page.get_by_role("button", name="Continue to review").click()

    alert = page.get_by_role("alert")
    expect(alert.get_by_role("link")).to_have_count(6)
    for question in QUESTIONS:
        expect(alert.get_by_role("link", name=f"{question} — Choose an answer.")).to_be_visible()
    expect(alert).not_to_contain_text("(recontact)")
    expect(page.get_by_role("radio", checked=True)).to_have_count(0)
    screenshot(page, "no-preselection-02-nothing-chosen")
    assert_accessible(page)
    assert not ConsentRecord.objects.exists()


def test_reconsent_preselects_only_previous_answers(
    page: Page, participant: User, published: ConsentVersion, steward: User
) -> None:
    enrolled: Participant = participant.participant
    give(enrolled, published, {**ALL_YES, "recontact": "no"})
    storage = {
        "key": "storage",
        "question": "May we store your samples for future research?",
        "meaning": "sample_storage",
        "allowed_answers": ["yes", "no"],
        "recommended_answer": "yes",
    }
    newer = make_version(
        steward, number=2, document=published.document, choices=[*CHOICES, storage]
    )
    consent_version_publish(actor=steward, version=newer)

    _to_choices(page, participant)

    expect(page.get_by_role("radio", checked=True)).to_have_count(6)
    recontact = page.get_by_role("group", name="May we contact you again?")
    expect(recontact.get_by_label("No (your previous answer)")).to_be_checked()
    expect(recontact.get_by_label("Yes (recommended by the study team)")).not_to_be_checked()
    new = page.get_by_role("group", name="May we store your samples for future research?")
    expect(new.get_by_role("radio", checked=True)).to_have_count(0)
    expect(
        page.get_by_text("Your answers to the questions you were asked before are selected")
    ).to_be_visible()
    screenshot(page, "no-preselection-03-reconsent")
    assert_accessible(page)
