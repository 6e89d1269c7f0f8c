"""A participant's consent journey in Chromium: consent, receipt, change, history, withdraw."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from consent.models import ConsentRecord, ConsentVersion, CurrentConsent
from consent.services import consent_version_publish
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import make_version

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(steward: User) -> ConsentVersion:
    return consent_version_publish(actor=steward, version=make_version(steward))


def _look(page: Page, name: str) -> None:
    phone = (page.viewport_size or {}).get("width", 1200) < 600
    screenshot(page, f"journey-{'phone-' if phone else ''}{name}")
    assert_accessible(page)


def _answer(page: Page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def _first_consent(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Pat")
    expect(page.get_by_text("You have not given consent yet.")).to_be_visible()
    _look(page, "01-home-before")

    page.get_by_role("link", name="Read and sign the consent form").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Main study consent, version 1")
    _look(page, "02-start")

    page.get_by_role("link", name="Start reading").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Why we ask")
    expect(page.get_by_text("We study DNA to understand disease.")).to_be_visible()
    _look(page, "03-section")

    page.get_by_role("link", name="Continue to the questions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your understanding")
    _answer(page, "Can you withdraw at any time?", "No")
    page.get_by_role("button", name="Check my answers").click()
    expect(page.get_by_role("alert")).to_contain_text("One answer was not right")
    expect(
        page.get_by_text("You can withdraw whenever you like, without giving a reason.")
    ).to_be_visible()
    _look(page, "04-quiz-wrong")
    _answer(page, "Can you withdraw at any time?", "Yes")
    page.get_by_role("button", name="Check my answers").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your choices")
    _answer(page, "May your data be used for any research?", "Yes")
    _answer(page, "May your data be used for health research?", "Yes")
    _answer(page, "May your data be used for ancestry research?", "Ask me each time")
    _answer(page, "May companies use your data?", "Yes")
    _answer(page, "May researchers outside the UK use your data?", "No")
    # Recommended, never preselected: the participant chooses it themselves.
    recontact = page.get_by_role("group", name="May we contact you again?")
    expect(recontact.get_by_role("radio", checked=True)).to_have_count(0)
    recontact.get_by_label("Yes (recommended by the study team)").check()
    _look(page, "05-choices")
    page.get_by_role("button", name="Continue to review").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Review and sign")
    expect(page.get_by_role("row", name="May companies use your data? Yes")).to_be_visible()
    _look(page, "06-review")
    page.get_by_label("Type your full name to sign").fill("Someone Else")
    page.get_by_role("button", name="Sign and give consent").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The signature must be your full name as on your account (Pat Participant)."
    )
    _look(page, "07-review-wrong-name")
    page.get_by_label("Type your full name to sign").fill("Pat Participant")
    page.get_by_role("button", name="Sign and give consent").click()


def _receipt(page: Page, tmp_path: Path) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent receipt")
    expect(page.get_by_text("Thank you: your consent is recorded.")).to_be_visible()
    _look(page, "08-receipt")
    shown = page.locator("#pdf-sha256").inner_text().strip()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the PDF").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    pdf = target.read_bytes()
    assert download.suggested_filename.startswith("consent-receipt-")
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == shown


def _change_a_choice(page: Page) -> None:
    page.get_by_role("link", name="Back to my consent").click()
    expect(page.get_by_role("cell", name="Consent given")).to_have_count(0)
    expect(page.locator(".facts")).to_contain_text("Consent given")
    _look(page, "09-home-consented")
    page.get_by_role("link", name="Change your answer to: May companies use your data?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your answer")
    _answer(page, "May companies use your data?", "No")
    page.get_by_label("Type your full name to sign").fill("Pat Participant")
    _look(page, "10-change")
    page.get_by_role("button", name="Sign and save the change").click()

    expect(
        page.get_by_text("Your answer to “May companies use your data?” is changed.")
    ).to_be_visible()
    expect(page.get_by_role("row", name="May companies use your data? No")).to_be_visible()
    history = page.locator(".timeline")
    expect(history.get_by_role("heading", level=3)).to_have_text(
        ["Changed choices", "Gave consent (version 1)"]
    )
    expect(history.locator(".timeline-entry").first).to_contain_text(
        "May companies use your data? Yes → No"
    )
    expect(history.locator(".timeline-entry").first).to_contain_text("by Pat Participant · Web")
    _look(page, "11-home-changed")


def _withdraw(page: Page, level: str, step: int) -> None:
    page.get_by_role("link", name="Withdraw from the study").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw from the study")
    if step == 12:
        _look(page, f"{step}-withdraw-levels")
    page.get_by_label(level, exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Confirm your withdrawal: {level.lower()}"
    )
    page.get_by_label("Type your full name to sign").fill("Pat Participant")
    _look(page, f"{step + 1}-withdraw-confirm-{level.lower().replace(' ', '-')}")
    page.get_by_role("button", name="Sign and withdraw").click()
    expect(page.get_by_text(f"Your withdrawal is recorded: {level.lower()}.")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(f"Withdrawn: {level.lower()}")
    expect(page.locator(".timeline .timeline-entry").first).to_contain_text(
        f"Withdrew: {level.lower()}"
    )


@pytest.mark.parametrize("viewport", [(1200, 900), (390, 844)], ids=["desktop", "phone"])
def test_participant_consents_changes_downloads_and_withdraws(
    page: Page,
    participant: User,
    published: ConsentVersion,
    tmp_path: Path,
    viewport: tuple[int, int],
) -> None:
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    browser_sign_in(page, participant)

    _first_consent(page)
    _receipt(page, tmp_path)
    _change_a_choice(page)

    _withdraw(page, "No further contact", 12)
    _look(page, "14-home-no-contact")
    page.get_by_role("link", name="Withdraw from the study").click()
    expect(page.get_by_text("These levels are not offered again")).to_be_visible()
    expect(page.get_by_label("No further contact", exact=True)).to_have_count(0)
    _look(page, "15-withdraw-further")
    page.get_by_role("link", name="Keep my consent as it is").click()

    _withdraw(page, "No further access", 16)
    _withdraw(page, "No further use", 18)
    expect(page.get_by_text("Analyses already done cannot be undone:")).to_be_visible()
    expect(page.get_by_role("link", name="Withdraw from the study")).to_have_count(0)
    _look(page, "20-home-no-use")

    current = CurrentConsent.objects.get(participant__user=participant)
    assert current.status == "no_use"
    assert list(
        ConsentRecord.objects.filter(participant__user=participant)
        .order_by("sequence")
        .values_list("kind", "withdrawal_level")
    ) == [
        ("consent", ""),
        ("change", ""),
        ("withdrawal", "no_contact"),
        ("withdrawal", "no_access"),
        ("withdrawal", "no_use"),
    ]
