from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus, LinkStatus
from portal.models import User
from tests.conftest import signed_in_client
from tests.datasets.conftest import make_dataset, register, validate_now
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


@pytest.fixture
def client(steward: User) -> Client:
    return signed_in_client(steward)


def _pages(dataset: Dataset) -> list[tuple[str, str]]:
    base = f"/datasets/steward/{dataset.accession}"
    return [
        ("get", "/datasets/steward/"),
        ("get", "/datasets/steward/new/"),
        ("get", f"{base}/"),
        ("get", f"{base}/files/"),
        ("get", f"{base}/files/progress/"),
        ("get", f"{base}/samples/"),
        ("post", f"{base}/release/"),
        ("post", f"{base}/retire/"),
    ]


def test_pages_are_for_stewards_only(dataset: Dataset, outsider: User, researcher: User) -> None:
    for method, url in _pages(dataset):
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code == 302, url
        assert anonymous["Location"].startswith("/account/sign-in/")
        for user in (outsider, researcher):
            response = getattr(signed_in_client(user), method)(url)
            assert response.status_code == 403, url
            assert "This page is for data stewards." in response.content.decode()
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.DRAFT


def test_unknown_accession_is_404(client: Client) -> None:
    assert client.get("/datasets/steward/CDS999999/").status_code == 404


def test_steward_home_lists_datasets(client: Client, dataset: Dataset) -> None:
    page = client.get("/datasets/steward/").content.decode()

    assert dataset.accession in page
    assert "Test cohort" in page
    assert "No datasets are registered yet." not in page


def test_create_dataset_through_the_form(client: Client, committee: Any) -> None:
    response = client.post(
        "/datasets/steward/new/",
        {
            "title": "Form dataset",
            "description": "Made in a test.",
            "committee": committee.pk,
            "permission": "DS",
            "modifiers": ["IRB", "NCU"],
            "diseases": "cancer, MONDO:0005015",
        },
    )

    dataset = Dataset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/steward/{dataset.accession}/files/"
    assert dataset.diseases == ["MONDO:0004992", "MONDO:0005015"]
    assert dataset.modifiers == ["NCU", "IRB"]


def test_create_form_shows_duo_problems_in_the_page(client: Client, committee: Any) -> None:
    response = client.post(
        "/datasets/steward/new/",
        {"title": "X", "committee": committee.pk, "permission": "GRU", "modifiers": ["GS"]},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert 'class="error-summary"' in page
    assert "GS (geographical restriction) needs at least one country." in page
    assert not Dataset.objects.exists()


def test_add_files_lists_the_data_root_without_indexes(
    client: Client, steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam, "reads/NA12878.bam")
    place(good.vcf_gz, "calls/cohort.vcf.gz")
    register(steward, dataset, "calls/cohort.vcf.gz")

    page = client.get(f"/datasets/steward/{dataset.accession}/files/").content.decode()

    assert 'value="reads/NA12878.bam"' in page
    assert "NA12878.bam.bai" not in page
    assert 'value="calls/cohort.vcf.gz"' not in page
    assert "2 files of the data root are already in this dataset" in page


def test_add_files_registers_and_starts_validation(
    client: Client, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam, "reads/NA12878.bam")

    response = client.post(
        f"/datasets/steward/{dataset.accession}/files/", {"files": ["reads/NA12878.bam"]}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/datasets/steward/{dataset.accession}/"
    bam = DataFile.objects.get(path="reads/NA12878.bam")
    assert bam.status == FileStatus.VALIDATING  # the worker is queued once the request commits


def test_typed_paths_are_checked_and_problems_shown(
    client: Client, dataset: Dataset, data_root: Path
) -> None:
    response = client.post(
        f"/datasets/steward/{dataset.accession}/files/",
        {"other_paths": "../outside.bam\n/etc/passwd\n"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "../outside.bam: &#x27;..&#x27; is not allowed in a path" in page
    assert "/etc/passwd: the path is outside the data root." in page
    assert not DataFile.objects.exists()


def test_progress_partial_polls_while_validating_and_reloads_when_done(
    client: Client, steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    bam = register(steward, dataset, "NA12878.bam", start_validation=True)[0]
    DataFile.objects.filter(pk=bam.pk).update(bytes_hashed=bam.size // 2)
    url = f"/datasets/steward/{dataset.accession}/files/progress/"

    polling = client.get(url, headers={"HX-Request": "true"})
    manage = client.get(f"/datasets/steward/{dataset.accession}/").content.decode()

    body = polling.content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert '<progress max="100" value="49"' in body or '<progress max="100" value="50"' in body
    assert "HX-Refresh" not in polling
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in manage
    assert "Refresh the page" in manage

    validate_now(steward, bam)
    done = client.get(url, headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true"
    assert "hx-trigger" not in done.content.decode()


def test_failed_file_shows_its_message_and_can_be_retried(
    client: Client, steward: User, dataset: Dataset, data_root: Path
) -> None:
    (data_root / "empty.bam").write_bytes(b"")
    bam = validate_now(steward, register(steward, dataset, "empty.bam")[0])

    page = client.get(f"/datasets/steward/{dataset.accession}/").content.decode()
    assert "empty.bam: the file is empty (0 bytes)" in page
    assert "Validate again" in page

    response = client.post(f"/datasets/steward/{dataset.accession}/files/{bam.pk}/retry/")
    assert response.status_code == 302
    bam.refresh_from_db()
    assert bam.status == FileStatus.VALIDATING


def test_release_problems_are_shown_in_the_page(client: Client, dataset: Dataset) -> None:
    response = client.post(f"/datasets/steward/{dataset.accession}/release/")

    assert response.status_code == 409
    assert f"{dataset.accession} has no data files; add files before releasing." in (
        response.content.decode()
    )


def test_link_samples_form(
    client: Client, steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    validate_now(steward, register(steward, dataset, "NA12878.bam")[0])
    ParticipantFactory(study_id="S-7")
    url = f"/datasets/steward/{dataset.accession}/samples/"

    page = client.get(url).content.decode()
    assert "Study ID for sample NA12878" in page

    refused = client.post(url, {"study_0": "S-404"})
    assert refused.status_code == 400
    assert "Sample NA12878: unknown study ID S-404" in refused.content.decode()

    linked = client.post(url, {"study_0": "S-7"})
    assert linked.status_code == 302
    sample = dataset.samples.get()
    assert (sample.link, sample.participant.study_id) == (LinkStatus.LINKED, "S-7")

    released = client.post(f"/datasets/steward/{dataset.accession}/release/")
    assert released.status_code == 302
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.RELEASED
    page = client.get(f"/datasets/steward/{dataset.accession}/").content.decode()
    assert f"Retire {dataset.accession}" in page


def test_remove_a_file(
    client: Client, steward: User, committee: Any, good: GoodFiles, place: PlaceFile
) -> None:
    dataset = make_dataset(steward, committee)
    place(good.bam)
    bam = register(steward, dataset, "NA12878.bam")[0]

    response = client.post(f"/datasets/steward/{dataset.accession}/files/{bam.pk}/remove/")

    assert response.status_code == 302
    assert not dataset.files.exists()
