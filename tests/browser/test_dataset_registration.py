from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from datasets import services, synthetic
from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus
from datasets.services import validation as validation_services
from datasets.tasks import validate_datafile_task
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.factories import CommitteeFactory, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = ("LAB-001", "LAB-002", "LAB-003", "LAB-004")


class HeldQueue:
    """Stands in for the Celery task: keeps the ids, so the test decides when the worker runs
    and the page can be seen while files are still validating."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def delay(self, file_id: int) -> None:
        self.ids.append(file_id)


@pytest.fixture
def data_root(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "data-root"
    (root / "calls").mkdir(parents=True)
    (root / "reads").mkdir()
    synthetic.write_vcf_gz(root / "calls" / "cohort.vcf.gz", samples=SAMPLES)
    synthetic.write_bam(root / "reads" / "LAB-001.tumour.bam", sample="LAB-001")
    (root / "notes.txt").write_text("not genomic\n")
    settings.CUSTODIAN_DATA_ROOT = root
    return root


def test_steward_registers_validates_links_and_releases(
    page: Page, steward: User, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = HeldQueue()
    monkeypatch.setattr(validation_services, "validate_datafile_task", queue)
    CommitteeFactory(name="Genomics Data Access Committee", contact_email="dac@example.org")
    for n in (1, 2, 3):
        ParticipantFactory(study_id=f"CUST-{n:04d}")

    browser_sign_in(page, steward)
    expect(page.get_by_role("heading", level=1)).to_have_text("Data steward")
    expect(page.get_by_text("No datasets are registered yet.")).to_be_visible()
    page.get_by_role("link", name="Register a dataset").click()

    # 1. the dataset and its DUO conditions (a mistake first: GS without a country)
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a dataset")
    page.get_by_label("Title").fill("Cohort genotypes 2026")
    page.get_by_label("Description").fill("Array genotypes of the first participants.")
    page.get_by_label("Data access committee").select_option(label="Genomics Data Access Committee")
    page.get_by_label("Health or medical or biomedical research (HMB)").check()
    page.get_by_label("Ethics approval required (IRB)").check()
    page.get_by_label("Geographical restriction (GS)").check()
    assert_accessible(page)
    screenshot(page, "dataset-create")
    page.get_by_role("button", name="Create the dataset").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "GS (geographical restriction) needs at least one country."
    )
    screenshot(page, "dataset-create-error")
    page.get_by_label("Countries (for a geographical restriction, GS)").fill("GB")
    page.get_by_role("button", name="Create the dataset").click()

    # 2. files from the data root
    dataset = Dataset.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Add files to {dataset.accession}")
    expect(page.get_by_label("calls/cohort.vcf.gz")).to_be_visible()
    expect(page.get_by_text("cohort.vcf.gz.tbi")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "dataset-add-files")
    page.get_by_label("calls/cohort.vcf.gz").check()
    page.get_by_label("reads/LAB-001.tumour.bam").check()
    page.get_by_role("button", name="Register and validate").click()

    # 3. validation progress, live
    expect(page.get_by_role("heading", level=1)).to_contain_text(dataset.accession)
    expect(page.get_by_role("status").first).to_contain_text("2 file(s) registered")
    assert len(queue.ids) == 2
    vcf = DataFile.objects.get(path="calls/cohort.vcf.gz")
    DataFile.objects.filter(pk=vcf.pk).update(bytes_hashed=vcf.size // 3)
    expect(page.locator("progress").first).to_have_attribute("value", "33", timeout=5000)
    expect(page.get_by_text("Validating").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "dataset-validating")
    for file_id in queue.ids:  # the worker runs
        validate_datafile_task(file_id)
    # htmx polls every second and reloads the page once everything is checked
    expect(page.get_by_text("LAB-001.tumour.bam.bai")).to_be_visible()
    expect(page.locator(".status-validating")).to_have_count(0, timeout=10_000)
    expect(page.locator(".status-valid")).to_have_count(4)
    expect(page.get_by_text("4 samples, 200 records, GRCh38")).to_be_visible()
    screenshot(page, "dataset-validated")

    # 4. release refused while samples are not linked
    page.get_by_role("button", name=f"Release {dataset.accession}").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "4 sample(s) are neither linked to a participant nor marked unlinked: LAB-001, "
        "LAB-002, LAB-003, LAB-004."
    )
    screenshot(page, "dataset-release-refused")

    # 5. link the samples (one unknown study ID first)
    page.get_by_role("link", name="Link samples to participants").click()
    page.get_by_label("Study ID for sample LAB-001").fill("CUST-0001")
    page.get_by_label("Study ID for sample LAB-002").fill("CUST-0002")
    page.get_by_label("Study ID for sample LAB-003").fill("CUST-9999")
    page.get_by_label("Sample LAB-004 is deliberately unlinked").check()
    page.get_by_role("button", name="Save links").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Sample LAB-003: unknown study ID CUST-9999 (no participant is enrolled with it)."
    )
    assert_accessible(page)
    screenshot(page, "dataset-samples-error")
    page.get_by_label("Study ID for sample LAB-003").fill("CUST-0003")
    page.get_by_role("button", name="Save links").click()
    expect(page.get_by_text("4 sample(s) updated.")).to_be_visible()
    expect(page.get_by_text("3 linked to participants, 1 deliberately unlinked")).to_be_visible()

    # 6. release
    page.get_by_role("button", name=f"Release {dataset.accession}").click()
    expect(page.get_by_text(f"{dataset.accession} is released")).to_be_visible()
    expect(page.get_by_role("button", name=f"Retire {dataset.accession}")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "dataset-released")
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.RELEASED
    assert set(DataFile.objects.values_list("status", flat=True)) == {FileStatus.VALID}

    page.get_by_role("link", name="Back to datasets").click()
    row = page.get_by_role("row").filter(has_text=dataset.accession)
    expect(row).to_contain_text("Released")
    expect(row.get_by_role("cell").nth(4)).to_have_text(re.compile(r"^\s*4\s*$"))
    screenshot(page, "steward-home-datasets")


def test_failed_file_is_shown_and_validated_again(
    page: Page, steward: User, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = HeldQueue()
    monkeypatch.setattr(validation_services, "validate_datafile_task", queue)
    committee = CommitteeFactory(name="DAC")
    dataset = services.dataset_create(
        actor=steward, title="Reads", committee=committee, permission="GRU"
    )
    bam = data_root / "reads" / "LAB-001.tumour.bam"
    good = bam.read_bytes()
    bam.write_bytes(good[: len(good) // 2])
    services.datafiles_register(
        actor=steward, dataset=dataset, entries=[services.FileEntry("reads/LAB-001.tumour.bam")]
    )
    validate_datafile_task(queue.ids.pop())

    browser_sign_in(page, steward)
    page.goto(f"/datasets/steward/{dataset.accession}/")
    expect(page.get_by_text("reads/LAB-001.tumour.bam: the file is truncated")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "dataset-file-failed")

    bam.write_bytes(good)
    page.get_by_role("button", name="Validate again reads/LAB-001.tumour.bam").click()
    expect(page.get_by_text("is being validated again")).to_be_visible()
    validate_datafile_task(queue.ids.pop())
    expect(page.locator(".status-failed")).to_have_count(0, timeout=10_000)
    expect(page.locator(".status-valid")).to_have_count(2)
