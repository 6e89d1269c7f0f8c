"""A Welsh-speaking participant's journey in Chromium, at a phone's size and a desktop's:
switch to Welsh, first consent, receipt, change, withdrawal, with Welsh headings and
buttons, `<html lang="cy">` and axe on every page."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from consent.models import ConsentRecord, ConsentVersion
from consent.services import (
    consent_document_create,
    consent_version_create,
    consent_version_publish,
)
from portal.models import User
from tests.browser.conftest import assert_accessible, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}

WELSH_CHOICES = [
    (
        "general",
        "general_research",
        "A gaiff ymchwilwyr ddefnyddio'ch data ar gyfer unrhyw ymchwil?",
        ["yes", "no"],
    ),
    (
        "health",
        "health_research",
        "A gaiff eich data ei ddefnyddio ar gyfer ymchwil iechyd?",
        ["yes", "no"],
    ),
    (
        "ancestry",
        "ancestry_research",
        "A gaiff eich data ei ddefnyddio i astudio tarddiad poblogaethau?",
        ["yes", "no", "ask"],
    ),
    ("commercial", "commercial_use", "A gaiff cwmnïau ddefnyddio'ch data?", ["yes", "no", "ask"]),
    (
        "abroad",
        "international_use",
        "A gaiff ymchwilwyr y tu allan i'r DU ddefnyddio'ch data?",
        ["yes", "no"],
    ),
    ("recontact", "recontact", "A gawn ni gysylltu â chi eto?", ["yes", "no"]),
]


@pytest.fixture
def welsh_version(steward: User, participant: User) -> ConsentVersion:
    participant.participant.language = "cy"
    participant.participant.save(update_fields=["language"])
    document = consent_document_create(actor=steward, name="Main study consent", country="GB")
    version = consent_version_create(
        actor=steward,
        document=document,
        number=1,
        language="cy",
        title="Cydsyniad y brif astudiaeth",
        sections=[{"heading": "Beth yw'r astudiaeth", "body": "Mae'r astudiaeth yn darllen DNA."}],
        questions=[
            {
                "text": "Allwch chi newid eich dewisiadau yn nes ymlaen?",
                "options": ["Gallaf, unrhyw bryd", "Na allaf"],
                "correct_option": 0,
                "explanation": "Gallwch newid unrhyw ddewis pryd bynnag y dymunwch.",
            }
        ],
        choices=[
            {
                "key": key,
                "meaning": meaning,
                "question": question,
                "explanation": "Esboniad.",
                "allowed_answers": answers,
            }
            for key, meaning, question, answers in WELSH_CHOICES
        ],
    )
    return consent_version_publish(actor=steward, version=version)


def _look(page: Page, name: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    screenshot(page, f"journey-cy-{name}")
    assert_accessible(page)


def _h1(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def _answer(page: Page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def _sign(page: Page) -> None:
    page.get_by_label("Teipiwch eich enw llawn i lofnodi").fill("Pat Participant")


def _journey(page: Page, size: str, tmp_path: Path) -> None:
    page.goto("/account/sign-in/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Cymraeg").click()
    _h1(page, "Mewngofnodi")
    _look(page, f"{size}-00-sign-in")
    page.get_by_label("Cyfeiriad e-bost").fill("participant@example.org")
    page.get_by_label("Cyfrinair").fill(PASSWORD)
    page.get_by_role("button", name="Mewngofnodi").click()

    # First consent.
    _h1(page, "Helo, Pat")
    expect(page.get_by_text("Nid ydych wedi rhoi cydsyniad eto.")).to_be_visible()
    _look(page, f"{size}-01-home")
    page.get_by_role("link", name="Darllen a llofnodi'r ffurflen gydsynio").click()
    _h1(page, "Cydsyniad y brif astudiaeth")
    expect(page.get_by_role("heading", name="Beth sy'n digwydd nesaf")).to_be_visible()
    _look(page, f"{size}-02-start")
    page.get_by_role("link", name="Dechrau darllen").click()
    _h1(page, "Beth yw'r astudiaeth")
    page.get_by_role("link", name="Ymlaen i'r cwestiynau").click()
    _h1(page, "Gwirio eich dealltwriaeth")
    _answer(page, "Allwch chi newid eich dewisiadau yn nes ymlaen?", "Na allaf")
    page.get_by_role("button", name="Gwirio fy atebion").click()
    expect(page.get_by_role("alert")).to_contain_text("Nid oedd un ateb yn gywir")
    _look(page, f"{size}-03-quiz-wrong")
    _answer(page, "Allwch chi newid eich dewisiadau yn nes ymlaen?", "Gallaf, unrhyw bryd")
    page.get_by_role("button", name="Gwirio fy atebion").click()

    _h1(page, "Eich dewisiadau")
    page.get_by_role("button", name="Ymlaen i adolygu").click()
    expect(page.get_by_role("alert")).to_contain_text("Mae problem")
    expect(page.get_by_role("alert")).to_contain_text(
        "A gaiff cwmnïau ddefnyddio'ch data? — Dewiswch ateb."
    )
    _look(page, f"{size}-04-choices-missing")
    for _key, _meaning, question, answers in WELSH_CHOICES:
        _answer(page, question, "Gofynnwch i mi bob tro" if "ask" in answers else "Ie")
    page.get_by_role("button", name="Ymlaen i adolygu").click()
    _h1(page, "Adolygu a llofnodi")
    _look(page, f"{size}-05-review")
    _sign(page)
    page.get_by_role("button", name="Llofnodi a rhoi cydsyniad").click()

    # The receipt.
    _h1(page, "Derbynneb cydsyniad")
    expect(page.get_by_text("Diolch: mae eich cydsyniad wedi'i gofnodi.")).to_be_visible()
    expect(page.locator(".receipt-facts")).to_contain_text("Cydsyniad cyntaf")
    _look(page, f"{size}-06-receipt")
    shown = page.locator("#pdf-sha256").inner_text().strip()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Lawrlwytho'r PDF").click()
    target = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == shown

    # Change one choice.
    page.get_by_role("link", name="Yn ôl i'm cydsyniad").click()
    _h1(page, "Helo, Pat")
    cell = page.locator("table.choices td").first
    expect(cell).to_have_css("display", "block" if size == "phone" else "table-cell")
    _look(page, f"{size}-07-home-consented")
    page.get_by_role("link", name="Newid eich ateb i: A gaiff cwmnïau ddefnyddio'ch data?").click()
    _h1(page, "Newid eich ateb")
    _answer(page, "A gaiff cwmnïau ddefnyddio'ch data?", "Na")
    _sign(page)
    _look(page, f"{size}-08-change")
    page.get_by_role("button", name="Llofnodi a chadw'r newid").click()
    expect(
        page.get_by_text("Mae eich ateb i “A gaiff cwmnïau ddefnyddio'ch data?” wedi'i newid.")
    ).to_be_visible()
    expect(page.locator(".timeline h3").first).to_have_text("Newid dewisiadau")

    # Withdraw.
    page.get_by_role("link", name="Tynnu'n ôl o'r astudiaeth").click()
    _h1(page, "Tynnu'n ôl o'r astudiaeth")
    _look(page, f"{size}-09-withdraw")
    page.get_by_label("Dim cysylltiad pellach", exact=True).check()
    page.get_by_role("button", name="Parhau").click()
    _h1(page, "Cadarnhau eich tynnu'n ôl: dim cysylltiad pellach")
    _sign(page)
    _look(page, f"{size}-10-withdraw-confirm")
    page.get_by_role("button", name="Llofnodi a thynnu'n ôl").click()
    expect(
        page.get_by_text("Mae eich tynnu'n ôl wedi'i gofnodi: dim cysylltiad pellach.")
    ).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Wedi tynnu'n ôl: dim cysylltiad pellach")
    _look(page, f"{size}-11-home-withdrawn")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_welsh_participant_consents_changes_and_withdraws_in_welsh(
    browser: Browser,
    live_server: object,
    participant: User,
    welsh_version: ConsentVersion,
    size: str,
    tmp_path: Path,
) -> None:
    context = browser.new_context(
        base_url=live_server.url,  # type: ignore[attr-defined]
        viewport=PHONE if size == "phone" else DESKTOP,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _journey(page, size, tmp_path)
    finally:
        context.close()

    assert list(
        ConsentRecord.objects.filter(participant__user=participant)
        .order_by("sequence")
        .values_list("kind", flat=True)
    ) == ["consent", "change", "withdrawal"]
