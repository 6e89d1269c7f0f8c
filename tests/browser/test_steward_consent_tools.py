"""A steward in Chromium: imports participants from CSV (a bad row first), reads the consent
overview with its chart, writes and publishes a new version of the consent form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from consent.models import Channel, ConsentVersion, CurrentConsent, Participant, VersionStatus
from consent.services import consent_version_publish, consent_withdraw
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import ALL_YES, give, make_version
from tests.factories import ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHILD = (timezone.localdate() - dt.timedelta(days=365 * 11)).isoformat()
HEADER = "study_id,email,full_name,language,date_of_birth,proxy_email,proxy_name"
ROWS = [
    "CGS-0101,ann.jones@example.org,Ann Jones,en,1980-04-12,,",
    f"CGS-0102,tom.bryn@example.org,Tom Bryn,en,{CHILD},rhian.bryn@example.org,Rhian Bryn",
]
BAD_ROW = "CGS-0103,sam.evans@example,Sam Evans,en,2023-02-30,,"
FIXED_ROW = "CGS-0103,sam.evans@example.org,Sam Evans,en,1975-11-02,,"
NEW_CHOICE = (
    "\n\nkey: sample_storage\n"
    "question: May we store your blood sample for future research?\n"
    "explanation: Samples are kept frozen in the biobank.\n"
    "meaning: sample_storage\n"
    "answers: yes, no, ask\n"
)


@pytest.fixture
def published(steward: User) -> ConsentVersion:
    """Version 1 in force, five participants with consent, two of whom withdrew."""
    version = consent_version_publish(actor=steward, version=make_version(steward))
    people = [ParticipantFactory(study_id=f"CGS-00{n:02d}") for n in range(1, 6)]
    for number, person in enumerate(people):
        give(person, version, {**ALL_YES, "ancestry": ["yes", "no", "ask"][number % 3]})
    for person, level in [(people[0], "no_contact"), (people[1], "no_use")]:
        consent_withdraw(
            actor=person.user,
            participant=person,
            level=level,
            signature=person.user.full_name,
            channel=Channel.WEB,
            expected_sequence=1,
        )
    return version


def _look(page: Page, name: str) -> None:
    screenshot(page, f"steward-consent-{name}")
    assert_accessible(page)


def _upload(page: Page, rows: list[str]) -> None:
    content = "\n".join([HEADER, *rows]).encode()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "participants.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Check the file").click()


def _import_participants(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Participants").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Participants")
    page.get_by_role("link", name="import them from a CSV file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import participants from a CSV file")
    _look(page, "01-import")

    _upload(page, [*ROWS, BAD_ROW])
    report = page.get_by_role("alert")
    expect(report).to_contain_text("There are 2 problems: nothing was imported")
    expect(report).to_contain_text(
        "Line 4: email “sam.evans@example” is not a valid email address."
    )
    expect(report).to_contain_text("Line 4: date_of_birth 2023-02-30 is not a real date.")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    _look(page, "02-import-problems")

    _upload(page, [*ROWS, FIXED_ROW])
    expect(
        page.get_by_role("heading", name="Checked: 3 participants to enrol, 1 with a guardian")
    ).to_be_visible()
    expect(page.get_by_role("row", name="3 CGS-0102 Tom Bryn")).to_contain_text("Rhian Bryn")
    assert not Participant.objects.filter(study_id__startswith="CGS-01").exists()
    _look(page, "03-import-checked")

    page.get_by_role("button", name="Import 3 participants and send invitations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Participants")
    expect(page.get_by_text("3 participants with 1 guardian enrolled.")).to_be_visible()
    expect(page.get_by_role("row", name="CGS-0102 Tom Bryn")).to_contain_text("Rhian Bryn")
    _look(page, "04-imported")

    page.get_by_role("link", name="Link another guardian to CGS-0102").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Link a guardian to CGS-0102")
    page.get_by_label("Guardian's email address").fill("owen.bryn@example.org")
    page.get_by_label("Guardian's full name").fill("Owen Bryn")
    _look(page, "04b-link-guardian")
    page.get_by_role("button", name="Link the guardian").click()
    expect(page.get_by_text("owen.bryn@example.org now acts for CGS-0102.")).to_be_visible()
    assert sorted(
        Participant.objects.filter(study_id__startswith="CGS-01").values_list("study_id", flat=True)
    ) == ["CGS-0101", "CGS-0102", "CGS-0103"]
    invited = sorted(m.to[0] for m in mail.outbox if m.subject == "Your invitation to Custodian")
    assert invited == [
        "ann.jones@example.org",
        "owen.bryn@example.org",
        "rhian.bryn@example.org",
        "sam.evans@example.org",
        "tom.bryn@example.org",
    ]


def _overview(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Consent").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent overview")
    statuses = page.locator(".stat-grid")
    expect(statuses.locator(".stat-active dd")).to_have_text("3")
    expect(statuses.locator(".stat-none dd")).to_have_text("3")
    expect(
        page.get_by_role("row", name="May your data be used for ancestry research? (ancestry)")
    ).to_have_text("May your data be used for ancestry research? (ancestry)111")
    chart = page.locator("svg.bar-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(2)
    month = timezone.localdate().strftime("%B %Y")
    expect(
        page.get_by_role("table", name="Withdrawals per month").get_by_role("row", name=month)
    ).to_have_count(1)
    _look(page, "05-overview")


def _new_version(page: Page, published: ConsentVersion) -> None:
    page.get_by_role("link", name="Documents and versions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent documents and versions")
    _look(page, "06-documents")
    page.get_by_role("link", name="Write a new version of Main study consent").click()
    expect(page.get_by_label("Version number")).to_have_value("2")
    choices = page.get_by_label("Choices")
    expect(choices).to_contain_text("key: ancestry")

    page.get_by_label("Title").fill("Main study consent, version 2")
    choices.fill(
        choices.input_value() + NEW_CHOICE.replace("answers: yes, no, ask", "answers: yes, perhaps")
    )
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Choices: Line 36: answers may only be yes, no and ask (not perhaps)."
    )
    _look(page, "07-version-problem")

    choices = page.get_by_label("Choices")
    choices.fill(choices.input_value().replace("answers: yes, perhaps", "answers: yes, no, ask"))
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Preview: Main study consent, version 2"
    )
    publish = page.get_by_role("region", name="Publish this version")
    expect(publish).to_contain_text("Re-consent required.")
    expect(publish).to_contain_text(
        "New choice: May we store your blood sample for future research? (sample_storage)"
    )
    _look(page, "08-preview")

    publish.get_by_label(
        "Suspend consent given to older versions until participants re-consent"
    ).check()
    publish.get_by_role("button", name="Publish version 2 (en)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent documents and versions")
    expect(page.get_by_text("Its choices changed:")).to_contain_text(
        "their consent is suspended until they do"
    )
    _look(page, "09-published")

    newer = ConsentVersion.objects.get(document=published.document, number=2)
    assert (newer.status, newer.requires_reconsent, newer.suspends_previous) == (
        VersionStatus.PUBLISHED,
        True,
        True,
    )
    assert CurrentConsent.objects.filter(suspended=True, status="active").count() == 3


def test_steward_imports_reads_the_overview_and_publishes_a_version(
    page: Page, steward: User, published: ConsentVersion
) -> None:
    browser_sign_in(page, steward)

    _import_participants(page)
    _overview(page)
    _new_version(page, published)
