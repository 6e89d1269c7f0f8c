"""The handover at coming of age in Chromium, at a phone's size and a desktop's: Pat, whose
guardian consented for them, signs in after coming of age, sees what the guardian chose,
keeps some answers and changes one, signs, and reads the receipt and history; axe on every
page, screenshots var/screenshots/handover-*."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from consent.models import Channel, ConsentRecord, ConsentVersion, Participant
from consent.services import (
    consent_record,
    consent_version_publish,
    proxy_link,
    proxy_majority_handover,
)
from portal.models import Role, User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import GUARDIAN_ANSWERS, born_years_ago, make_version
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1200, "height": 900}}
# The guardian's answer to each question, as the page words it.
GUARDIAN_CHOSE = [
    ("May your data be used for any research?", "Yes"),
    ("May your data be used for health research?", "Yes"),
    ("May your data be used for ancestry research?", "Ask me each time"),
    ("May companies use your data?", "Yes"),
    ("May researchers outside the UK use your data?", "No"),
    ("May we contact you again?", "Yes"),
]
GUARDIANS_MARK = " (your guardian's choice)"


@pytest.fixture
def handed_over(steward: User, participant: User) -> Participant:
    pat = participant.participant
    pat.date_of_birth = born_years_ago(10)
    pat.save(update_fields=["date_of_birth"])
    gwen = UserFactory(email="guardian@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(actor=steward, participant=pat, email=gwen.email, full_name=gwen.full_name)
    version: ConsentVersion = consent_version_publish(actor=steward, version=make_version(steward))
    consent_record(
        actor=gwen,
        participant=pat,
        version=version,
        answers=GUARDIAN_ANSWERS,
        signature="Gwen Guardian",
        channel=Channel.WEB,
        expected_sequence=0,
        proxy=gwen,
        receipt=False,
    )
    pat.date_of_birth = born_years_ago(18)
    pat.save(update_fields=["date_of_birth"])
    proxy_majority_handover(participant=pat)
    return pat


def _journey(page: Page, size: str) -> None:
    def look(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", "en")
        screenshot(page, f"handover-{size}-{name}")
        assert_accessible(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Pat")
    banner = page.locator("section.banner")
    expect(banner.get_by_role("heading", level=2)).to_have_text(
        "Your choices are now yours to make"
    )
    expect(banner).to_contain_text("made for you by Gwen Guardian, your guardian")
    # Acting on one choice at a time would leave the guardian's other answers standing.
    expect(page.get_by_role("link", name="Change", exact=True)).to_have_count(0)
    look("01-home")
    banner.get_by_role("link", name="Confirm or change each choice").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your choices are now yours to make")
    chose = page.get_by_role("table")
    for question, answer in GUARDIAN_CHOSE:
        expect(chose.locator("tbody tr", has_text=question).locator("td").last).to_have_text(answer)
    for question, _answer in GUARDIAN_CHOSE:
        # Nothing is chosen for Pat: the guardian's answer is marked, not selected.
        expect(
            page.get_by_role("group", name=question).get_by_role("radio", checked=True)
        ).to_have_count(0)  # noqa: E501
    look("02-handover")

    # Pat keeps four of the guardian's answers, changes one and forgets one.
    for question, answer in GUARDIAN_CHOSE[:4]:
        group = page.get_by_role("group", name=question)
        if question == "May companies use your data?":
            group.get_by_label("No", exact=True).check()
        else:
            group.get_by_label(answer + GUARDIANS_MARK, exact=True).check()
    page.get_by_role("group", name="May researchers outside the UK use your data?").get_by_label(
        "No" + GUARDIANS_MARK, exact=True
    ).check()
    page.get_by_label("Type your full name to sign").fill("Pat Participant")
    page.get_by_role("button", name="Sign and make these choices my own").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "May we contact you again? — Choose an answer."
    )
    look("03-handover-missing")
    page.get_by_role("group", name="May we contact you again?").get_by_label(
        "Yes" + GUARDIANS_MARK, exact=True
    ).check()
    page.get_by_label("Type your full name to sign").fill("Pat Participant")
    page.get_by_role("button", name="Sign and make these choices my own").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Consent receipt")
    expect(page.get_by_text("Thank you: these choices are now your own consent.")).to_be_visible()
    expect(page.locator(".receipt-facts")).to_contain_text("Own consent at coming of age")
    expect(page.locator(".receipt-facts")).to_contain_text("Signed byPat Participant")
    look("04-receipt")

    page.get_by_role("link", name="Back to my consent").click()
    expect(page.locator("section.banner")).to_have_count(0)
    entry = page.locator(".timeline .timeline-entry").first
    expect(entry.get_by_role("heading", level=3)).to_have_text(
        "Confirmed or changed each choice made by the guardian (version 1)"
    )
    expect(entry).to_contain_text("May companies use your data? Yes → No")
    expect(entry).to_contain_text("by Pat Participant · Web")
    expect(
        page.get_by_role("link", name="Change your answer to: May companies use your data?")
    ).to_be_visible()  # noqa: E501
    look("05-home-own")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_young_person_confirms_some_choices_and_changes_one(
    browser: Browser, live_server: object, handed_over: Participant, size: str
) -> None:
    context = browser.new_context(
        base_url=live_server.url,  # type: ignore[attr-defined]
        viewport=SIZES[size],  # type: ignore[arg-type]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        browser_sign_in(page, handed_over.user)
        _journey(page, size)
    finally:
        context.close()

    records = ConsentRecord.objects.filter(participant=handed_over).order_by("sequence")
    assert [(r.kind, r.proxy_id is None, r.signature) for r in records] == [
        ("consent", False, "Gwen Guardian"),
        ("confirm", True, "Pat Participant"),
    ]
    assert records[1].answers == {**GUARDIAN_ANSWERS, "commercial": "no"}
