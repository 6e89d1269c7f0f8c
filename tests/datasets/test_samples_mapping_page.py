"""The samples page takes the mapping file that register_dataset and the registration API
take, all or nothing, instead of one text box per sample."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from datasets.models import Dataset, LinkStatus, Sample
from portal.models import User
from tests.conftest import signed_in_client
from tests.datasets.conftest import register, validate_now
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


@pytest.fixture
def validated(steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile) -> Dataset:
    place(good.vcf_gz)
    validate_now(steward, register(steward, dataset, "cohort.vcf.gz")[0])
    for n in (1, 2):
        ParticipantFactory(study_id=f"S-{n}")
    return dataset


def _url(dataset: Dataset) -> str:
    return f"/datasets/steward/{dataset.accession}/samples/mapping/"


def _file(text: str, name: str = "map.tsv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/tab-separated-values")


def _links(dataset: Dataset) -> dict[str, tuple[str, str | None]]:
    return {
        s.sample_id: (s.link, s.participant.study_id if s.participant else None)
        for s in Sample.objects.filter(dataset=dataset).select_related("participant")
    }


def test_the_samples_page_offers_the_mapping_file(steward: User, validated: Dataset) -> None:
    page = signed_in_client(steward).get(f"/datasets/steward/{validated.accession}/samples/")

    html = page.content.decode()
    assert f'action="{_url(validated)}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file" name="mapping"' in html


def test_a_mapping_file_links_its_samples(steward: User, validated: Dataset) -> None:
    mapping = "sample_id\tstudy_id\n# the first two\nHG00001\tS-1\n\nHG00002\tS-2\n"

    response = signed_in_client(steward).post(
        _url(validated), {"mapping": _file(mapping)}, follow=True
    )

    assert response.status_code == 200
    assert "2 sample(s) in the file; 2 changed." in response.content.decode()
    links = _links(validated)
    assert links.pop("HG00001") == (LinkStatus.LINKED, "S-1")
    assert links.pop("HG00002") == (LinkStatus.LINKED, "S-2")
    assert "HG00003" in links
    assert set(links.values()) == {(LinkStatus.UNRESOLVED, None)}


def test_every_problem_is_shown_and_nothing_changes(steward: User, validated: Dataset) -> None:
    mapping = "HG00001\tS-1\nHG00002\nHG00003\tS-1\textra\n"

    response = signed_in_client(steward).post(_url(validated), {"mapping": _file(mapping)})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert "map.tsv line 2: expected 2 columns (sample ID, study ID), found 1." in html
    assert "map.tsv line 3: expected 2 columns (sample ID, study ID), found 3." in html
    assert set(_links(validated).values()) == {(LinkStatus.UNRESOLVED, None)}


def test_unknown_samples_and_study_ids_are_refused_by_the_service(
    steward: User, validated: Dataset
) -> None:
    mapping = "HG00001\tS-1\nHG00002\tS-404\nNOBODY\tS-2\n"

    response = signed_in_client(steward).post(_url(validated), {"mapping": _file(mapping)})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Sample HG00002: unknown study ID S-404 (no participant is enrolled with it)." in html
    assert f"Sample NOBODY is not in {validated.accession}." in html
    assert set(_links(validated).values()) == {(LinkStatus.UNRESOLVED, None)}


@pytest.mark.parametrize(
    ("upload", "problem"),
    [
        (None, "Sample mapping file: This field is required."),
        (_file("", "empty.tsv"), "Sample mapping file: The submitted file is empty."),
        (_file("# only a comment\n", "c.tsv"), "c.tsv: no sample in the file."),
    ],
)
def test_a_missing_or_empty_file_is_a_400_in_words(
    steward: User, validated: Dataset, upload: SimpleUploadedFile | None, problem: str
) -> None:
    data = {"mapping": upload} if upload is not None else {}

    response = signed_in_client(steward).post(_url(validated), data)

    assert response.status_code == 400
    assert problem in response.content.decode()


def test_a_file_that_is_not_utf8_is_named(steward: User, validated: Dataset) -> None:
    upload = SimpleUploadedFile("latin.tsv", "HG00001\tS-1 é\n".encode("latin-1"))

    response = signed_in_client(steward).post(_url(validated), {"mapping": upload})

    assert response.status_code == 400
    assert "latin.tsv: not UTF-8 text" in response.content.decode()


def test_only_stewards_may_upload(
    validated: Dataset, outsider: User, researcher: User, client: Client
) -> None:
    for who in (client, signed_in_client(outsider), signed_in_client(researcher)):
        response = who.post(_url(validated), {"mapping": _file("HG00001\tS-1\n")})
        assert response.status_code in (302, 403, 404)
    assert set(_links(validated).values()) == {(LinkStatus.UNRESOLVED, None)}


def test_get_is_not_allowed(steward: User, validated: Dataset) -> None:
    assert signed_in_client(steward).get(_url(validated)).status_code == 405
