"""A guardian's journey in Chromium, in English and in Welsh, at a phone's size and a
desktop's: sign in, choose the child, see "Consent for Pat Participant", make Pat's choices,
sign with their own name and read the receipt; headings, buttons and `lang` asserted, axe
on every page, screenshots var/screenshots/guardian-*."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from consent.models import ConsentRecord, ConsentVersion, Participant
from consent.services import (
    consent_document_create,
    consent_version_create,
    consent_version_publish,
    proxy_link,
)
from portal.models import Role, User
from tests.browser.conftest import assert_accessible, screenshot
from tests.consent.conftest import born_years_ago, make_version
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1200, "height": 900}}

# (English, Welsh) of each word the journey reads or clicks.
WORDS = {
    "sign in": ("Sign in", "Mewngofnodi"),
    "email": ("Email address", "Cyfeiriad e-bost"),
    "password": ("Password", "Cyfrinair"),
    "people": ("People I act for", "Pobl rwy'n gweithredu ar eu rhan"),
    "open": ("Open consent for Pat Participant", "Agor y cydsyniad ar gyfer Pat Participant"),
    "consent for": ("Consent for Pat Participant", "Cydsyniad ar gyfer Pat Participant"),
    "acting": ("You are acting as Pat's guardian", "Rydych yn gweithredu fel gwarcheidwad Pat"),
    "no consent": ("Pat has no consent yet.", "Nid oes gan Pat gydsyniad eto."),
    "read and sign": ("Read and sign the consent form", "Darllen a llofnodi'r ffurflen gydsynio"),
    "start": ("Start reading", "Dechrau darllen"),
    "to questions": ("Continue to the questions", "Ymlaen i'r cwestiynau"),
    "quiz": ("Check your understanding", "Gwirio eich dealltwriaeth"),
    "check": ("Check my answers", "Gwirio fy atebion"),
    "choices": ("Pat's choices", "Dewisiadau Pat"),
    "to review": ("Continue to review", "Ymlaen i adolygu"),
    "review": ("Review and sign", "Adolygu a llofnodi"),
    "signature": ("Type your full name to sign", "Teipiwch eich enw llawn i lofnodi"),
    "give": ("Sign and give consent", "Llofnodi a rhoi cydsyniad"),
    "receipt": ("Consent receipt", "Derbynneb cydsyniad"),
    "thanks": (
        "Thank you: Pat's consent is recorded.",
        "Diolch: mae cydsyniad Pat wedi'i gofnodi.",
    ),
    "back": ("Back to Pat's consent", "Yn ôl i gydsyniad Pat"),
    "pat's consent": ("Pat's consent", "Cydsyniad Pat"),
    "who used": ("Who used Pat's data", "Pwy ddefnyddiodd ddata Pat"),
    "yes": ("Yes", "Ie"),
    "no": ("No", "Na"),
    "ask": ("Ask me each time", "Gofynnwch i mi bob tro"),
}

WELSH_CHOICES = [
    ("general", "general_research", "A gaiff ymchwilwyr ddefnyddio data Pat ar gyfer ymchwil?"),
    ("commercial", "commercial_use", "A gaiff cwmnïau ddefnyddio data Pat?"),
    ("recontact", "recontact", "A gawn ni gysylltu â Pat eto?"),
]
ENGLISH_CHOICES = [
    ("general", "May your data be used for any research?"),
    ("health", "May your data be used for health research?"),
    ("ancestry", "May your data be used for ancestry research?"),
    ("commercial", "May companies use your data?"),
    ("abroad", "May researchers outside the UK use your data?"),
    ("recontact", "May we contact you again?"),
]


@pytest.fixture
def guardian(steward: User, participant: User) -> User:
    child = participant.participant
    child.date_of_birth = born_years_ago(10)
    child.save(update_fields=["date_of_birth"])
    gwen = UserFactory(email="guardian@example.org", full_name="Gwen Guardian", role=Role.PROXY)
    proxy_link(actor=steward, participant=child, email=gwen.email, full_name=gwen.full_name)
    return gwen


def _welsh_version(steward: User, child: Participant) -> ConsentVersion:
    child.language = "cy"
    child.save(update_fields=["language"])
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
                "text": "Allwch chi newid y dewisiadau yn nes ymlaen?",
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
                "allowed_answers": ["yes", "no"],
            }
            for key, meaning, question in WELSH_CHOICES
        ],
    )
    return consent_version_publish(actor=steward, version=version)


def _journey(page: Page, language: str, size: str) -> None:
    cy = language == "cy"

    def w(key: str) -> str:
        return WORDS[key][1 if cy else 0]

    def look(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", language)
        screenshot(page, f"guardian-{language}-{size}-{name}")
        assert_accessible(page)

    def h1(key: str) -> None:
        expect(page.get_by_role("heading", level=1)).to_have_text(w(key))

    page.goto("/account/sign-in/")
    if cy:
        page.get_by_role("button", name="Cymraeg").click()
    page.get_by_label(w("email")).fill("guardian@example.org")
    page.get_by_label(w("password")).fill(PASSWORD)
    page.get_by_role("button", name=w("sign in")).click()

    h1("people")
    look("01-people")
    page.get_by_role("button", name=w("open")).click()

    h1("consent for")
    expect(page.locator(".acting")).to_contain_text(w("acting"))
    expect(page.get_by_text(w("no consent"))).to_be_visible()
    expect(page.get_by_role("heading", name=w("who used"))).to_be_visible()
    look("02-consent-for")
    page.get_by_role("link", name=w("read and sign")).click()
    expect(page.locator(".acting")).to_contain_text(w("acting"))
    look("03-start")
    page.get_by_role("link", name=w("start")).click()
    page.get_by_role("link", name=w("to questions")).click()
    h1("quiz")
    # The form's one comprehension question: its first option is the right one.
    page.locator("fieldset").first.get_by_role("radio").first.check()
    page.get_by_role("button", name=w("check")).click()

    h1("choices")
    questions = [(k, q) for k, _m, q in WELSH_CHOICES] if cy else ENGLISH_CHOICES
    for key, question in questions:
        group = page.get_by_role("group", name=question)
        # Nothing is chosen for Pat: the guardian makes each choice.
        expect(group.get_by_role("radio", checked=True)).to_have_count(0)
        # "Yes" may carry "(recommended by the study team)" after it.
        group.get_by_role("radio", name=w("no" if key == "commercial" else "yes")).first.check()
    look("04-choices")
    page.get_by_role("button", name=w("to review")).click()

    h1("review")
    look("05-review")
    page.get_by_label(w("signature")).fill("Gwen Guardian")
    page.get_by_role("button", name=w("give")).click()

    h1("receipt")
    expect(page.get_by_text(w("thanks"))).to_be_visible()
    look("06-receipt")
    page.get_by_role("link", name=w("back")).click()
    h1("consent for")
    expect(page.get_by_role("heading", name=w("pat's consent"), exact=True)).to_be_visible()
    look("07-consented")


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_guardian_gives_consent_for_the_child(
    browser: Browser,
    live_server: object,
    steward: User,
    participant: User,
    guardian: User,
    language: str,
    size: str,
) -> None:
    if language == "cy":
        _welsh_version(steward, participant.participant)
    else:
        consent_version_publish(actor=steward, version=make_version(steward))
    context = browser.new_context(
        base_url=live_server.url,  # type: ignore[attr-defined]
        viewport=SIZES[size],  # type: ignore[arg-type]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _journey(page, language, size)
    finally:
        context.close()

    record = ConsentRecord.objects.get(participant=participant.participant)
    assert (record.kind, record.proxy, record.signature) == ("consent", guardian, "Gwen Guardian")
