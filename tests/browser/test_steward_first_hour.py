"""A steward's first hour in Chromium: samples linked from the mapping file, a long unbroken
title that wraps instead of making the page scroll sideways, a CSV import sent without a file
answered with the error summary, and no "Administration" link that refuses every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from datasets import services, synthetic
from datasets.models import Dataset, LinkStatus, Sample
from portal.models import User
from tests.browser.conftest import assert_accessible, browser_sign_in, screenshot
from tests.datasets.conftest import register, validate_now
from tests.factories import CommitteeFactory, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = ("LAB-001", "LAB-002", "LAB-003", "LAB-004")
# 200 characters without a space, as a steward pasting an identifier might write.
LONG_TITLE = "Whole-genome-sequencing-of-the-" + "X" * 169


@pytest.fixture
def validated(tmp_path: Path, settings: Any, steward: User) -> Dataset:
    root = tmp_path / "data-root"
    root.mkdir()
    synthetic.write_vcf_gz(root / "cohort.vcf.gz", samples=SAMPLES)
    settings.CUSTODIAN_DATA_ROOT = root
    committee = CommitteeFactory(name="Genomics DAC", contact_email="dac@example.org")
    dataset = services.dataset_create(
        actor=steward, title=LONG_TITLE, committee=committee, permission="GRU"
    )
    validate_now(steward, register(steward, dataset, "cohort.vcf.gz")[0])
    for n in (1, 2, 3):
        ParticipantFactory(study_id=f"CUST-{n:04d}")
    return dataset


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def test_samples_are_linked_from_a_mapping_file(
    page: Page, steward: User, validated: Dataset, tmp_path: Path
) -> None:
    browser_sign_in(page, steward)
    expect(page.get_by_role("link", name="Datasets")).to_be_visible()
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    page.goto(f"/datasets/steward/{validated.accession}/samples/")
    expect(page.get_by_role("heading", name="From a mapping file")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "samples-mapping-form")

    # 1. sent without a file: the error summary, linked to the field
    page.get_by_role("button", name="Link the samples in the file").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Sample mapping file: This field is required.")
    screenshot(page, "samples-mapping-no-file")

    # 2. a file with a bad line: every problem, nothing changed
    bad = tmp_path / "bad.tsv"
    bad.write_text("sample_id\tstudy_id\nLAB-001\tCUST-0001\nLAB-002\n", encoding="utf-8")
    page.get_by_label("Sample mapping file").set_input_files(bad)
    page.get_by_role("button", name="Link the samples in the file").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "bad.tsv line 3: expected 2 columns (sample ID, study ID), found 1."
    )
    assert_accessible(page)
    screenshot(page, "samples-mapping-problems")
    assert not Sample.objects.filter(dataset=validated, link=LinkStatus.LINKED).exists()

    # 3. the corrected file
    good = tmp_path / "map.tsv"
    good.write_text(
        "sample_id\tstudy_id\nLAB-001\tCUST-0001\nLAB-002\tCUST-0002\nLAB-003\tCUST-0003\n",
        encoding="utf-8",
    )
    page.get_by_label("Sample mapping file").set_input_files(good)
    page.get_by_role("button", name="Link the samples in the file").click()
    expect(page.get_by_text("3 sample(s) in the file; 3 changed.")).to_be_visible()
    screenshot(page, "samples-mapping-linked")
    linked = Sample.objects.filter(dataset=validated, link=LinkStatus.LINKED)
    assert sorted(linked.values_list("sample_id", "participant__study_id")) == [
        ("LAB-001", "CUST-0001"),
        ("LAB-002", "CUST-0002"),
        ("LAB-003", "CUST-0003"),
    ]


# Phone widths are not tested here: a table of seven columns is wider than 375 px whatever
# its titles (a separate matter from a title that will not wrap).
@pytest.mark.parametrize("width", [1200, 768])
def test_a_long_unbroken_title_wraps(
    page: Page, steward: User, validated: Dataset, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    browser_sign_in(page, steward)
    for name, url in [
        ("home", "/datasets/steward/"),
        ("manage", f"/datasets/steward/{validated.accession}/"),
    ]:
        page.goto(url)
        expect(page.get_by_text(LONG_TITLE[:30]).first).to_be_visible()
        screenshot(page, f"long-title-{name}-{width}")
        _no_sideways_scroll(page)


def test_a_csv_import_without_a_file_shows_the_error_summary(page: Page, steward: User) -> None:
    browser_sign_in(page, steward)
    page.goto("/consent/participants/import/")
    page.get_by_role("button", name="Check the file").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("There is a problem: nothing was checked")
    expect(alert.get_by_role("link", name="CSV file: This field is required.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "import-no-file")
