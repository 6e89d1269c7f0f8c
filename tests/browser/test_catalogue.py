from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from consent.models import ConsentVersion
from consent.services import consent_version_publish
from datasets import services, synthetic
from datasets.models import Dataset
from datasets.tasks import validate_datafile_task
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.consent.conftest import ALL_YES, give, make_version
from tests.factories import CommitteeFactory, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _released(
    steward: User, committee: Any, root: Path, name: str, samples: list[str], **conditions: Any
) -> Dataset:
    synthetic.write_vcf_gz(root / f"{name}.vcf.gz", samples=samples)
    dataset = services.dataset_create(actor=steward, committee=committee, **conditions)
    (vcf, _tbi) = services.datafiles_register(
        actor=steward,
        dataset=dataset,
        entries=[services.FileEntry(f"{name}.vcf.gz")],
        start_validation=False,
    )
    services.datafile_validation_start(actor=steward, file=vcf, queue=False)
    validate_datafile_task(vcf.pk)
    services.samples_link(
        actor=steward,
        dataset=dataset,
        choices=[services.SampleChoice(s, f"CUST-{s[-4:]}") for s in samples],
    )
    return services.dataset_release(actor=steward, dataset=dataset)


@pytest.fixture
def catalogue(steward: User, tmp_path: Path, settings: Any) -> dict[str, Dataset]:
    settings.CUSTODIAN_DATA_ROOT = tmp_path
    committee = CommitteeFactory(
        name="Genomics Data Access Committee", contact_email="dac@custodian.example"
    )
    version: ConsentVersion = consent_version_publish(actor=steward, version=make_version(steward))
    people = [
        ParticipantFactory(study_id=f"CUST-{n:04d}", user__full_name=f"Person {n}")
        for n in range(1, 9)
    ]
    for person in people[:6]:
        give(person, version, ALL_YES)
    samples = [f"LAB{n:04d}" for n in range(1, 9)]
    return {
        "cohort": _released(
            steward,
            committee,
            tmp_path,
            "cohort",
            samples,
            title="Cohort genotypes",
            description="Array genotypes of eight participants.",
            permission="GRU",
            modifiers=["PUB"],
        ),
        "tumour": _released(
            steward,
            committee,
            tmp_path,
            "tumour",
            samples[6:],
            title="Tumour variants",
            description="Somatic variants of the cancer sub-study.",
            permission="DS",
            diseases=["MONDO:0004992"],
            modifiers=["NCU", "IRB"],
        ),
    }


def test_anonymous_visitor_finds_a_dataset_and_how_to_apply(
    page: Page, catalogue: dict[str, Dataset]
) -> None:
    tumour = catalogue["tumour"]
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Dataset catalogue")
    expect(page.get_by_role("heading", level=2)).to_have_count(2)
    assert_accessible(page)
    screenshot(page, "catalogue-anonymous")

    page.get_by_label("Search datasets").fill("lung cancer")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("0 datasets match “lung cancer”")).to_be_visible()
    page.get_by_label("Search datasets").fill("cancer")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 dataset match")).to_be_visible()
    card = page.get_by_role("article")
    expect(card).to_contain_text("Disease specific research — Diseases: cancer (MONDO:0004992)")
    expect(card).to_contain_text("fewer than 5")
    screenshot(page, "catalogue-search")

    page.get_by_role("link", name="Tumour variants").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tumour variants")
    expect(page.get_by_text(f"Accession {tumour.accession}")).to_be_visible()
    expect(page.get_by_text("Non-commercial use only")).to_be_visible()
    expect(page.get_by_text("DUO:0000046")).to_be_visible()
    expect(
        page.get_by_text("The data may not be used to make or develop products or services")
    ).to_be_visible()
    expect(page.get_by_text("Provide documentation that an ethics committee")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("VCF.gz (indexed: TBI)")
    expect(facts).to_contain_text("fewer than 5")
    expect(page.get_by_role("link", name="dac@custodian.example")).to_be_visible()
    expect(page.get_by_role("link", name="register as a researcher", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "catalogue-detail-anonymous")


def test_researcher_sees_the_consented_count_and_where_to_apply(
    page: Page, researcher: User, catalogue: dict[str, Dataset]
) -> None:
    browser_sign_in(page, researcher)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue").click()
    card = page.get_by_role("article").filter(has_text="Cohort genotypes")
    expect(card).to_contain_text("General research use")
    expect(card).to_contain_text("Consenting now")
    expect(card.locator("dd").last).to_have_text("6")
    screenshot(page, "catalogue-researcher")

    card.get_by_role("link", name="Cohort genotypes").click()
    expect(page.get_by_text("Publication required")).to_be_visible()
    expect(page.get_by_text("Make the results of the research public.")).to_be_visible()
    accession = catalogue["cohort"].accession
    expect(page.get_by_role("link", name=f"Apply for access to {accession}")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "catalogue-detail-researcher")
