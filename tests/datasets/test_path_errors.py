"""What the filesystem refuses (names too long, symbolic link loops) is a named refusal on
every path a steward gives, never a 500; a refused path in a sample mapping refuses the
whole registration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.test import Client

from datasets import services
from datasets.models import DataFile, Dataset, Sample
from datasets.paths import DataPathError, resolve_data_path
from portal.models import User
from tests.conftest import signed_in_client
from tests.datasets.conftest import register
from tests.factories import ParticipantFactory, api_token_for

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile

LONG = "a/" + "x" * 5000 + ".bam"
LONG_MESSAGE = (
    f"{LONG}: the path cannot be used (File name too long); give a shorter path from the data root."
)
LOOP_MESSAGE = (
    "loop/x.bam: the path goes round a loop of symbolic links; fix the links under the data root."
)


@pytest.fixture
def loop(data_root: Path) -> Path:
    """A folder link that points at itself, the way a mistaken `ln -s` leaves one."""
    (data_root / "loop").symlink_to(data_root / "loop")
    return data_root / "loop"


def test_path_errors_long_path_is_refused_by_name(data_root: Path) -> None:
    with pytest.raises(DataPathError) as caught:
        resolve_data_path(LONG)

    assert caught.value.message == LONG_MESSAGE


def test_path_errors_symlink_loop_is_refused_by_name(data_root: Path, loop: Path) -> None:
    with pytest.raises(DataPathError) as caught:
        resolve_data_path("loop/x.bam")

    assert caught.value.message == LOOP_MESSAGE


def test_path_errors_register_api_refuses_long_path_and_loop(
    steward: User, dataset: Dataset, data_root: Path, loop: Path
) -> None:
    token = api_token_for(steward)

    response = Client().post(
        f"/api/v1/datasets/{dataset.accession}/files/register/",
        data=json.dumps({"files": [{"path": LONG}, {"path": "loop/x.bam"}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 400, response.content[:300]
    body = json.loads(response.content)
    assert body["detail"] == f"files[0]: {LONG_MESSAGE}; files[1]: {LOOP_MESSAGE}"
    assert not DataFile.objects.exists()


def test_path_errors_add_files_page_lists_around_a_loop(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile, loop: Path
) -> None:
    place(good.bam, "reads/NA12878.bam")
    client = signed_in_client(steward)

    page = client.get(f"/datasets/steward/{dataset.accession}/files/")

    assert page.status_code == 200
    assert 'value="reads/NA12878.bam"' in page.content.decode()


def test_path_errors_add_files_page_refuses_long_path_and_loop(
    steward: User, dataset: Dataset, loop: Path
) -> None:
    client = signed_in_client(steward)

    response = client.post(
        f"/datasets/steward/{dataset.accession}/files/",
        {"other_paths": f"{LONG}\nloop/x.bam\n"},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "File name too long" in page
    assert "the path goes round a loop of symbolic links" in page
    assert not DataFile.objects.exists()


def test_path_errors_mapping_with_refused_path_refuses_everything(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.vcf_gz)
    ParticipantFactory(study_id="S-1")
    links = [
        services.SampleLinkEntry("HG00001", "S-1", "cohort.vcf.gz", "samples[0]"),
        services.SampleLinkEntry("HG00002", "S-1", "../elsewhere.vcf.gz", "samples[1]"),
    ]

    with pytest.raises(services.RegistrationError) as caught:
        register(steward, dataset, "cohort.vcf.gz", sample_links=links)

    assert caught.value.problems == (
        "samples[1]: ../elsewhere.vcf.gz: '..' is not allowed in a path; give the path from "
        "the data root.",
    )
    assert not DataFile.objects.exists()
    assert not Sample.objects.exists()


def test_path_errors_mapping_with_refused_path_is_api_400(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.vcf_gz)
    ParticipantFactory(study_id="S-1")
    token = api_token_for(steward)

    response = Client().post(
        f"/api/v1/datasets/{dataset.accession}/files/register/",
        data=json.dumps(
            {
                "files": [{"path": "cohort.vcf.gz"}],
                "samples": [{"sample_id": "HG00001", "study_id": "S-1", "file": LONG}],
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 400, response.content[:300]
    assert json.loads(response.content)["detail"] == f"samples[0]: {LONG_MESSAGE}"
    assert not DataFile.objects.exists()
