"""A visitor asks the beacon from the catalogue and learns where to apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pysam
import pytest
from playwright.sync_api import Page, expect

from consent.services import consent_version_publish
from datasets import services, synthetic
from datasets.models import Dataset, VariantIndex, VariantIndexStatus
from datasets.tasks import validate_datafile_task
from portal.models import User
from tests.access.beacon_data import SAMPLES, vcf_text
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import ALL_YES, give, make_version
from tests.factories import CommitteeFactory, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def beacon_dataset(steward: User, tmp_path: Path, settings: Any) -> Dataset:
    """A released dataset whose participants S000-S007 consent to everything (the others,
    U000 and C000, are deliberately unlinked); the release builds the beacon's index."""
    settings.CUSTODIAN_DATA_ROOT = tmp_path
    path = synthetic.bgzip_text(tmp_path / "cohort.vcf.gz", vcf_text())
    pysam.tabix_index(str(path), preset="vcf", force=True)
    committee = CommitteeFactory(name="Genomics DAC", contact_email="dac@custodian.example")
    version = consent_version_publish(actor=steward, version=make_version(steward))
    choices = []
    for n, sample in enumerate(SAMPLES):
        if sample.startswith("S"):
            person = ParticipantFactory(study_id=f"CUST-{n:04d}")
            give(person, version, ALL_YES)
            choices.append(services.SampleChoice(sample, person.study_id))
        else:
            choices.append(services.SampleChoice(sample, unlinked=True))
    dataset = services.dataset_create(
        actor=steward,
        committee=committee,
        title="Cohort genotypes",
        description="Genotypes of ten people.",
        permission="GRU",
    )
    (vcf, _tbi) = services.datafiles_register(
        actor=steward,
        dataset=dataset,
        entries=[services.FileEntry("cohort.vcf.gz")],
        start_validation=False,
    )
    services.datafile_validation_start(actor=steward, file=vcf, queue=False)
    validate_datafile_task(vcf.pk)
    services.samples_link(actor=steward, dataset=dataset, choices=choices)
    released = services.dataset_release(actor=steward, dataset=dataset)
    assert VariantIndex.objects.get(file=vcf).status == VariantIndexStatus.READY
    return released


def test_a_visitor_asks_the_beacon_and_finds_where_to_apply(
    page: Page, beacon_dataset: Dataset
) -> None:
    page.goto("/datasets/")
    page.get_by_role("link", name="Ask the beacon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask the beacon")
    assert_accessible(page)

    page.get_by_label("Chromosome").fill("chr1")
    page.get_by_label("Position (first base, 1-based)").fill("2000")
    page.get_by_label("Reference bases").fill("C")
    page.get_by_label("Alternate bases").fill("T")
    page.get_by_role("button", name="Ask").click()

    answer = page.get_by_role("status")
    expect(answer).to_contain_text("Yes. At least one participant who consents")
    expect(answer).to_contain_text("Answered at the public tier.")
    accession = beacon_dataset.accession
    expect(page.get_by_role("link", name=f"apply for access to {accession}")).to_have_attribute(
        "href", f"/access/requests/new/?dataset={accession}"
    )
    assert_accessible(page)
    screenshot(page, "beacon-answer-anonymous")

    # A region, with counts: six people carry 5000 A>T, but the deletion at 7000 alone is a
    # count below 5, which the public sees as a range.
    page.get_by_label("A region").check()
    page.get_by_label("Position (first base, 1-based)").fill("6990")
    page.get_by_label("Region end (last base, 1-based)").fill("7010")
    page.get_by_label("Answer", exact=True).and_(page.locator("select")).select_option("count")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("dl.facts")).to_contain_text("Participants carrying them1-4")
    screenshot(page, "beacon-region-count")


def test_a_signed_in_researcher_sees_the_tier_of_their_purpose(
    page: Page, researcher: User, beacon_dataset: Dataset
) -> None:
    browser_sign_in(page, researcher)
    page.goto("/access/beacon/")
    expect(page.get_by_text("Signed in, you are answered for the purpose")).to_be_visible()
    page.get_by_label("Position (first base, 1-based)").fill("1000")
    page.get_by_label("Reference bases").fill("A")
    page.get_by_label("Alternate bases").fill("G")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("status")).to_contain_text("Yes.")  # S006 consents here
    screenshot(page, "beacon-answer-researcher")
