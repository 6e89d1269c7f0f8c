"""An access request's whole journey in Chromium: a researcher applies with a co-applicant,
two committee members vote, the chair approves, the researchers see the grant, the applicant
asks for download links, and a consenting participant whose data was delivered sees the
project in "who used my data" (one who refused does not)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from access.models import AccessRequest, RequestStatus
from access.services import agreement_publish
from consent.models import ConsentVersion
from consent.services import consent_version_publish
from datasets import synthetic
from datasets.models import Committee, Dataset
from portal.models import Role, User
from tests.access.conftest import AGREEMENT_TEXT, link_sample, released_dataset
from tests.access.delivery_support import add_file
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import ALL_YES, give, make_version
from tests.factories import ParticipantFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Rare variants in inherited heart disease"
LAY_SUMMARY = (
    "We look for changes in DNA that make some families more likely to have heart disease."
)
ABSTRACT = "A case-control association study of rare coding variants in cardiomyopathy genes."

OpenPage = Callable[[], Page]


@pytest.fixture
def open_page(browser: Browser, live_server: Any) -> Iterator[OpenPage]:
    """Another person's browser: a new context (own cookies) on the same live server."""
    contexts = []

    def open_() -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1200, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def coapplicant(db: None) -> User:
    return UserFactory(
        email="casey.co@partner.example",
        full_name="Casey Coapplicant",
        role=Role.RESEARCHER,
        institution="Partner Institute",
    )


@pytest.fixture
def dataset(
    steward: User,
    dac_chair: User,
    dac_member: User,
    third_member: User,
    participant: User,
    other_participant: User,
    settings: Any,
    tmp_path: Path,
) -> Dataset:
    """The Test DAC (chair and two members: two votes are a majority) with its agreement, and
    a released HMB dataset of six consenting participants (Pat among them) and two who said no
    to any research (the other participant among them); Pat's reads are a validated BAM."""
    committee = Committee.objects.get(name="Test DAC")
    committee.members.add(third_member)
    agreement_publish(actor=steward, committee=committee, text=AGREEMENT_TEXT)
    version: ConsentVersion = consent_version_publish(actor=steward, version=make_version(steward))
    dataset = released_dataset(steward, committee, title="Heart cohort", permission="HMB")
    refused = {**ALL_YES, "general": "no", "health": "no"}
    consenting = [participant.participant, *(ParticipantFactory() for _ in range(5))]
    refusing = [other_participant.participant, ParticipantFactory()]
    for person in consenting:
        give(person, version, ALL_YES)
    for person in refusing:
        give(person, version, refused)
    for n, person in enumerate([*consenting, *refusing]):
        link_sample(dataset, person, f"HC{n:03d}")
    settings.CUSTODIAN_DATA_ROOT = tmp_path / "data"
    bam = synthetic.write_bam(tmp_path / "HC000.bam", sample="HC000", reads_per_contig=20)
    add_file(dataset, steward, settings.CUSTODIAN_DATA_ROOT, bam, "heart/HC000.bam", ["HC000"])
    return dataset


def _look(page: Page, name: str, *, check: bool = True) -> None:
    screenshot(page, f"access-{name}")
    if check:
        assert_accessible(page)


def _saved(page: Page, step: str) -> None:
    expect(page.get_by_text("Your draft is saved.")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=step)).to_be_visible()


def _apply(page: Page, researcher: User, dataset: Dataset) -> str:
    """The researcher fills the wizard from the catalogue to the review step; returns the
    request's accession."""
    browser_sign_in(page, researcher)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name="Heart cohort").click()
    page.get_by_role("link", name=f"Apply for access to {dataset.accession}").click()

    # 1. project: saved as a draft first
    expect(page.get_by_role("heading", level=1)).to_have_text("New access request")
    expect(page.get_by_text(f"You apply for: {dataset.accession} Heart cohort.")).to_be_visible()
    page.get_by_label("Project title").fill(TITLE)
    page.get_by_label("Lay summary").fill(LAY_SUMMARY)
    page.get_by_label("Scientific abstract").fill(ABSTRACT)
    _look(page, "01-wizard-project")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text(re.compile(r"Your draft CAR\d{6} is saved\."))).to_be_visible()
    accession = AccessRequest.objects.get().accession
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(page.get_by_label("Lay summary")).to_have_value(LAY_SUMMARY)
    page.get_by_role("button", name="Save and continue").click()

    # 2. purpose: health research in Great Britain
    _saved(page, "Research purpose")
    page.get_by_label("Health, medical or biomedical research").check()
    page.get_by_label("Countries where the data will be used").fill("GB")
    page.get_by_label("Your institution").fill("Example University")
    _look(page, "02-wizard-purpose")
    page.get_by_role("button", name="Save and continue").click()

    # 3. datasets: the one chosen in the catalogue is ticked
    _saved(page, "Datasets")
    expect(page.get_by_label(f"{dataset.accession} Heart cohort")).to_be_checked()
    expect(page.get_by_text("Reviewed by Test DAC.")).to_be_visible()
    _look(page, "03-wizard-datasets")
    page.get_by_role("button", name="Save and continue").click()

    # 4. people: a co-applicant by email, then the signing official
    _saved(page, "People")
    expect(page.get_by_text("No one is invited yet.")).to_be_visible()
    page.get_by_label("Co-applicant's email").fill("casey.co@partner.example")
    page.get_by_label("Co-applicant's name").fill("Casey Coapplicant")
    page.get_by_role("button", name="Send the invitation").click()
    expect(
        page.get_by_text(
            "We emailed an invitation to casey.co@partner.example. They must accept it."
        )
    ).to_be_visible()
    invited = page.get_by_role("row", name=re.compile("casey.co@partner.example"))
    expect(invited).to_contain_text("Waiting for an answer (until ")
    page.get_by_label("Signing official's name").fill("Sigrid Official")
    page.get_by_label("Signing official's email").fill("official@example.org")
    _look(page, "04-wizard-people")
    page.get_by_role("button", name="Save and continue").click()

    # 5. documents: no ethics approval needed; the agreement, then the attestation
    _saved(page, "Documents and agreements")
    expect(
        page.get_by_text("None of the chosen datasets requires ethics approval.")
    ).to_be_visible()
    expect(page.get_by_text(AGREEMENT_TEXT)).to_be_visible()
    page.get_by_role("button", name="I accept these agreements").click()
    expect(
        page.get_by_text("You accepted the data-access agreements of this request.")
    ).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Riley Researcher"))).to_contain_text(
        "Accepted on"
    )
    page.get_by_label("I confirm that the data will be stored and processed securely").check()
    _look(page, "05-wizard-documents")
    page.get_by_role("button", name="Save and continue").click()

    # 6. review: the match, and the co-applicant who has not answered yet
    _saved(page, "Review and submit")
    missing = page.get_by_role("region", name="Before you can submit")
    expect(missing.get_by_role("listitem")).to_have_text(
        [
            "The invitation to casey.co@partner.example is not answered yet: wait for it, "
            "or cancel it."
        ]
    )
    expect(
        page.get_by_text("Automated match with the data's conditions: Permitted")
    ).to_be_visible()
    page.get_by_role("button", name="Submit the request").click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("The request cannot be submitted yet")
    expect(refusal).to_contain_text("The invitation to casey.co@partner.example is not answered")
    _look(page, "06-wizard-review-refused")
    assert AccessRequest.objects.get().status == RequestStatus.DRAFT
    return accession


def _join(page: Page, coapplicant: User, accession: str) -> None:
    """The co-applicant follows the emailed link, accepts the agreement and joins."""
    sent = [
        m
        for m in mail.outbox
        if m.to == ["casey.co@partner.example"] and "invites you to co-apply" in m.subject
    ]
    assert len(sent) == 1
    match = re.search(r"https?://[^/\s]+(/access/invitations/[^\s]+/)", sent[0].body)
    assert match, sent[0].body

    browser_sign_in(page, coapplicant)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Casey")
    invitations = page.get_by_role("region", name="Invitations to co-apply")
    expect(invitations.get_by_role("link", name=TITLE)).to_have_attribute("href", match.group(1))
    page.goto(match.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation to co-apply")
    expect(page.get_by_text("Riley Researcher invites you to co-apply")).to_be_visible()
    expect(page.get_by_text(LAY_SUMMARY)).to_be_visible()
    page.get_by_role("button", name="Accept the invitation").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "I accept the agreements: To join, accept the data-access agreement of: Test DAC."
    )
    _look(page, "07-invitation-agreement-missing")
    page.get_by_label("I accept the agreements").check()
    page.get_by_role("button", name="Accept the invitation").click()

    expect(page.get_by_text(f"You joined {accession} as a co-applicant.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(
        page.get_by_text("Casey Coapplicant (casey.co@partner.example): accepted")
    ).to_be_visible()
    _look(page, "08-coapplicant-joined")


def _submit(page: Page, accession: str) -> None:
    page.goto(f"/access/requests/{accession}/edit/?step=review")
    expect(page.get_by_text("Your request is complete.")).to_be_visible()
    page.get_by_role("button", name="Submit the request").click()
    expect(
        page.get_by_text(f"{accession} is submitted. The committees will review it.")
    ).to_be_visible()
    # The review starts after the commit (on_commit → Celery, eager here), as the worker would.
    expect(page.locator("p.meta .status")).to_have_text("Under review")
    expect(page.get_by_role("link", name="Edit the request")).to_have_count(0)
    _look(page, "09-request-under-review")


def _vote(page: Page, member: User, accession: str, rationale: str, step: str) -> None:
    browser_sign_in(page, member)
    expect(page.get_by_role("heading", level=1)).to_have_text("Committee review")
    expect(page.locator("#waiting-count")).to_have_text("1")
    page.get_by_role("link", name="Waiting for your vote: 1").click()
    row = page.get_by_role("row", name=re.compile(accession))
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text("Waiting for you")
    _look(page, f"{step}-queue-{member.email.split('@')[0].replace('.', '-')}")
    row.get_by_role("link", name=accession).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"{accession}: {TITLE}")
    panel = page.get_by_role("region", name="Test DAC")
    expect(panel.get_by_role("heading", name="Automated match: APPROVE")).to_be_visible()
    expect(panel).to_contain_text(
        "Samples whose participants' consent permits this purpose now: 6 of 8."
    )
    expect(panel.locator(".exclusions li")).to_have_text(
        ["fewer than 5: consent does not cover this purpose"]
    )
    panel.get_by_role("group", name="Your vote").get_by_label("Approve").check()
    panel.get_by_label("Rationale").fill(rationale)
    _look(page, f"{step}-review-{member.email.split('@')[0].replace('.', '-')}")
    panel.get_by_role("button", name="Cast my vote").click()
    expect(
        page.get_by_text(f"Your vote on {accession} is recorded; you can change it.")
    ).to_be_visible()
    expect(page.get_by_role("region", name="Test DAC").locator(".votes")).to_contain_text(rationale)


def _decide(page: Page, chair: User, accession: str, grant_end: dt.date) -> None:
    browser_sign_in(page, chair)
    page.goto(f"/access/review/{accession}/")
    panel = page.get_by_role("region", name="Test DAC")
    expect(panel).to_contain_text("Quorum: 2 of 2 needed votes (3 members may vote): reached.")
    expect(panel.locator(".votes li")).to_have_count(2)
    expect(panel.get_by_label("Access ends on")).to_have_value(grant_end.isoformat())
    panel.get_by_role("group", name="Decision").get_by_label("Approve").check()
    panel.get_by_label("Comment to the applicants").fill("Approved for the project as described.")
    _look(page, "12-decide")
    panel.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The Test DAC's decision is recorded: approved.")).to_be_visible()
    expect(page.locator("h1 + p .status")).to_have_text("Approved")
    _look(page, "13-decided")


def _researcher_sees_grant(page: Page, accession: str, grant_end: dt.date) -> None:
    until_long = f"{grant_end:%-d %B %Y}"
    until_short = f"{grant_end:%-d %b %Y}"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My applications").click()
    requests = page.get_by_role("region", name="My requests")
    row = requests.get_by_role("row", name=re.compile(accession))
    expect(row.get_by_role("cell").nth(1)).to_have_text("Approved")
    held = page.get_by_role("region", name="Access you hold now")
    expect(held.get_by_role("row").nth(1)).to_have_text(
        re.compile(rf"Heart cohort\s*{accession}\s*{until_long}")
    )
    _look(page, "14-my-requests-approved")

    row.get_by_role("link", name=accession).click()
    expect(page.locator("p.meta .status")).to_have_text("Approved")
    decision = page.get_by_role("region", name="Decisions")
    expect(decision).to_contain_text("Test DAC: Approved")
    expect(decision).to_contain_text("Approved for the project as described.")
    expect(decision).to_contain_text(f"Access until {until_long}.")
    granted = page.get_by_role("region", name="Access granted")
    expect(granted.get_by_role("row")).to_have_count(3)
    today = f"{timezone.localdate():%-d %b %Y}"
    for name in ("Riley Researcher", "Casey Coapplicant"):
        expect(granted.get_by_role("row", name=re.compile(name))).to_have_text(
            re.compile(rf"CDS\d{{6}}\s*{name}\s*{today}\s*{until_short}\s*Active")
        )
    # Votes are internal to the committee: the applicant does not see rationales.
    expect(page.get_by_text("The design answers the question.")).to_have_count(0)
    _look(page, "15-request-approved")


def _researcher_gets_links(page: Page) -> None:
    """On the request page the researcher just saw: the delivery is prepared by the worker
    (eager here) before the redirect, so its page shows the links at once."""
    page.get_by_role("button", name="Ask for download links").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Download links: Heart cohort")
    expect(page.locator("#delivery-status-heading .status")).to_have_text("Ready")
    expect(page.get_by_role("heading", level=3, name="HC000.bam")).to_be_visible()
    expect(page.get_by_text("curl -o HC000.bam '")).to_be_visible()
    _look(page, "15b-delivery")


def _who_used_my_data(page: Page, person: User, accession: str, *, listed: bool, step: str) -> None:
    browser_sign_in(page, person)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Who used my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who used my data")
    if listed:
        use = page.locator(".timeline-entry")
        expect(use).to_have_count(1)
        expect(use.get_by_role("heading", level=2)).to_have_text(TITLE)
        expect(use).to_contain_text(LAY_SUMMARY)
        expect(use).to_contain_text("Example University")
        expect(use).to_contain_text(accession)
        expect(use).to_contain_text(
            re.compile(rf"Data received\s*{timezone.localdate():%-d %B %Y}")
        )
    else:
        expect(page.get_by_text(TITLE)).to_have_count(0)
        expect(
            page.get_by_text("No research project has received data that includes yours.")
        ).to_be_visible()
    _look(page, step)


def test_researcher_applies_committee_approves_participant_sees_use(
    page: Page,
    open_page: OpenPage,
    dataset: Dataset,
    researcher: User,
    coapplicant: User,
    dac_member: User,
    third_member: User,
    dac_chair: User,
    participant: User,
    other_participant: User,
) -> None:
    accession = _apply(page, researcher, dataset)

    _join(open_page(), coapplicant, accession)

    _submit(page, accession)

    _vote(open_page(), dac_member, accession, "The design answers the question.", "10")
    _vote(open_page(), third_member, accession, "Consent and conditions fit.", "11")

    grant_end = timezone.localdate() + dt.timedelta(days=365)
    _decide(open_page(), dac_chair, accession, grant_end)

    _researcher_sees_grant(page, accession, grant_end)

    _researcher_gets_links(page)

    _who_used_my_data(open_page(), participant, accession, listed=True, step="16-data-use")
    _who_used_my_data(
        open_page(), other_participant, accession, listed=False, step="17-data-use-refused"
    )

    request = AccessRequest.objects.get()
    assert request.status == RequestStatus.APPROVED
    assert sorted(
        request.grants.values_list("grantee__email", "dataset__accession", "ends_on")
    ) == [
        ("casey.co@partner.example", dataset.accession, grant_end),
        ("researcher@example.org", dataset.accession, grant_end),
    ]
