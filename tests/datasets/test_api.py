from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from datasets import services
from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus
from datasets.tasks import validate_datafile_task
from portal.models import User
from tests.conftest import signed_in_client
from tests.datasets.conftest import make_dataset, register, validate_now
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile

PROBLEM = "application/problem+json"
API = "/api/v1/datasets"


@pytest.fixture
def released(
    steward: User, committee: Any, good: GoodFiles, place: PlaceFile, data_root: Any
) -> Dataset:
    dataset = make_dataset(
        steward, committee, title="Released reads", permission="HMB", modifiers=["IRB"]
    )
    place(good.bam, "released/NA12878.bam")
    validate_now(steward, register(steward, dataset, "released/NA12878.bam")[0])
    ParticipantFactory(study_id="S-1")
    services.samples_link(
        actor=steward, dataset=dataset, choices=[services.SampleChoice("NA12878", "S-1")]
    )
    return services.dataset_release(actor=steward, dataset=dataset)


@pytest.fixture
def draft(steward: User, committee: Any, good: GoodFiles, place: PlaceFile) -> Dataset:
    dataset = make_dataset(steward, committee, title="Draft calls")
    place(good.vcf_gz, "draft/cohort.vcf.gz")
    register(steward, dataset, "draft/cohort.vcf.gz")
    return dataset


@pytest.fixture
def clients(steward: User, outsider: User, researcher: User) -> dict[str, Client]:
    return {
        "anonymous": Client(),
        "outsider": signed_in_client(outsider),
        "researcher": signed_in_client(researcher),
        "steward": signed_in_client(steward),
    }


def _file(dataset: Dataset) -> DataFile:
    return dataset.files.filter(index_of__isnull=True).get()


def _post(client: Client, url: str, data: Any = None) -> Any:
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def _problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    return json.loads(response.content)


def test_list_shows_drafts_to_stewards_only(
    clients: dict[str, Client], released: Dataset, draft: Dataset
) -> None:
    for who, client in clients.items():
        response = client.get(f"{API}/")
        assert response.status_code == 200, who
        accessions = [d["accession"] for d in response.json()["results"]]
        expected = (
            [draft.accession, released.accession] if who == "steward" else [released.accession]
        )
        assert accessions == expected, who


def test_detail_of_a_released_dataset(clients: dict[str, Client], released: Dataset) -> None:
    body = clients["anonymous"].get(f"{API}/{released.accession}/").json()

    assert body["title"] == "Released reads"
    assert body["status"] == "released"
    assert body["url"] == f"http://testserver{API}/{released.accession}/"
    assert body["committee"] == {"name": "Genomics DAC", "contact_email": "dac@example.org"}
    assert body["conditions"]["permission"] == "HMB"
    assert body["conditions"]["modifiers"] == ["IRB"]
    assert [t["code"] for t in body["conditions_text"]] == ["HMB", "IRB"]
    assert body["obligations"][0]["term"] == "IRB"
    assert body["formats"] == ["BAI", "BAM"]
    assert body["sample_count"] == 1
    assert body["consenting_samples"] is None
    assert body["consenting_samples_display"] == "fewer than 5"


@pytest.mark.parametrize("who", ["anonymous", "outsider", "researcher"])
def test_drafts_are_not_found_for_others(
    clients: dict[str, Client], draft: Dataset, who: str
) -> None:
    client = clients[who]
    file = _file(draft)
    for url in (
        f"{API}/{draft.accession}/",
        f"{API}/{draft.accession}/files/",
        f"{API}/{draft.accession}/files/{file.pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert _problem(response)["code"] == "not_found"


def test_files_hide_storage_details_from_all_but_stewards(
    clients: dict[str, Client], released: Dataset
) -> None:
    file = _file(released)
    public = clients["anonymous"].get(f"{API}/{released.accession}/files/").json()
    steward = clients["steward"].get(f"{API}/{released.accession}/files/").json()

    assert [f["name"] for f in public] == ["NA12878.bam", "NA12878.bam.bai"]
    assert "path" not in public[0]
    assert "samples" not in public[0]
    assert public[0]["sha256"] == file.sha256
    assert public[1]["index_of"] == file.pk
    assert steward[0]["path"] == "released/NA12878.bam"
    assert steward[0]["samples"] == ["NA12878"]
    detail = clients["outsider"].get(f"{API}/{released.accession}/files/{file.pk}/")
    assert detail.json()["md5"] == file.md5


STEWARD_ONLY = [
    ("get", "{acc}/files/{file}/validation/"),
    ("post", "{acc}/files/{file}/validation/retry/"),
    ("get", "{acc}/samples/"),
    ("post", "{acc}/samples/link/"),
    ("post", "{acc}/release/"),
    ("post", "{acc}/retire/"),
    ("post", "{acc}/files/register/"),
    ("post", "register/"),
]


@pytest.mark.parametrize(("method", "path"), STEWARD_ONLY)
@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("outsider", 403), ("researcher", 403)]
)
def test_steward_endpoints_refuse_others(
    clients: dict[str, Client],
    released: Dataset,
    method: str,
    path: str,
    who: str,
    status: int,
) -> None:
    url = f"{API}/" + path.format(acc=released.accession, file=_file(released).pk)
    client = clients[who]

    response = client.get(url) if method == "get" else _post(client, url)

    assert response.status_code == status
    assert _problem(response)["status"] == status
    released.refresh_from_db()
    assert released.status == DatasetStatus.RELEASED


def test_steward_registers_a_dataset_and_files_and_releases_it(
    clients: dict[str, Client], committee: Any, good: GoodFiles, place: PlaceFile, steward: User
) -> None:
    client = clients["steward"]
    place(good.bam, "api/NA12878.bam")
    ParticipantFactory(study_id="S-9")

    created = _post(
        client,
        f"{API}/register/",
        {
            "title": "API dataset",
            "committee": committee.pk,
            "permission": "DS",
            "diseases": ["MONDO:0005015"],
            "modifiers": ["GS"],
            "countries": ["GB"],
        },
    )
    assert created.status_code == 201, created.content
    accession = created.json()["accession"]
    assert created.json()["status"] == "draft"

    files = _post(
        client,
        f"{API}/{accession}/files/register/",
        {
            "files": [{"path": "api/NA12878.bam", "format": "bam"}],
            "samples": [{"sample_id": "NA12878", "study_id": "S-9", "file": "api/NA12878.bam"}],
        },
    )
    assert files.status_code == 201, files.content
    bam = files.json()[0]
    assert (bam["path"], bam["status"]) == ("api/NA12878.bam", "validating")
    validate_datafile_task(bam["id"])  # what the worker does once the request committed

    status = client.get(f"{API}/{accession}/files/{bam['id']}/validation/").json()
    assert status["status"] == "valid"
    assert status["progress_percent"] == 100
    assert status["bytes_hashed"] == status["size"]

    samples = client.get(f"{API}/{accession}/samples/").json()
    assert samples == [
        {"sample_id": "NA12878", "link": "linked", "study_id": "S-9", "files": ["NA12878.bam"]}
    ]

    released = _post(client, f"{API}/{accession}/release/")
    assert released.status_code == 200, released.content
    assert released.json()["status"] == "released"
    retired = _post(client, f"{API}/{accession}/retire/", {"reason": "replaced"})
    assert retired.json()["status"] == "retired"


def test_registration_problems_come_back_as_problem_json(
    clients: dict[str, Client], draft: Dataset
) -> None:
    response = _post(
        clients["steward"],
        f"{API}/{draft.accession}/files/register/",
        {"files": [{"path": "../../etc/passwd"}, {"path": "draft/cohort.vcf.gz"}]},
    )

    body = _problem(response)
    assert response.status_code == 400
    assert body["code"] == "registration_refused"
    assert body["detail"] == (
        "files[0]: ../../etc/passwd: '..' is not allowed in a path; give the path from the "
        f"data root.; files[1]: draft/cohort.vcf.gz is already registered in {draft.accession}."
    )


def test_bad_conditions_and_committee_are_refused(
    clients: dict[str, Client], committee: Any
) -> None:
    client = clients["steward"]
    bad_term = _post(
        client, f"{API}/register/", {"title": "X", "committee": committee.pk, "permission": "GS"}
    )
    assert _problem(bad_term)["detail"] == (
        "GS (geographical restriction) is a DUO modifier, not a permission."
    )
    no_committee = _post(
        client, f"{API}/register/", {"title": "X", "committee": 999, "permission": "GRU"}
    )
    assert _problem(no_committee)["errors"] == {"committee": ["No committee has this id."]}
    assert not Dataset.objects.exists()


def test_release_refusal_and_retry_through_the_api(
    clients: dict[str, Client], draft: Dataset, steward: User, data_root: Any
) -> None:
    client = clients["steward"]
    file = _file(draft)
    (data_root / "draft" / "cohort.vcf.gz").write_bytes(b"")
    validate_now(steward, file)

    refused = _post(client, f"{API}/{draft.accession}/release/")
    assert refused.status_code == 409
    assert _problem(refused)["detail"].startswith(
        "draft/cohort.vcf.gz failed validation: the file is empty (0 bytes)"
    )

    retried = _post(client, f"{API}/{draft.accession}/files/{file.pk}/validation/retry/")
    assert retried.status_code == 202
    assert retried.json()["status"] == FileStatus.VALIDATING
    validate_datafile_task(file.pk)
    file.refresh_from_db()
    assert file.status == FileStatus.FAILED  # still empty


def test_sample_links_through_the_api(
    clients: dict[str, Client], draft: Dataset, steward: User
) -> None:
    validate_now(steward, _file(draft))
    ParticipantFactory(study_id="S-1")

    linked = _post(
        clients["steward"],
        f"{API}/{draft.accession}/samples/link/",
        {"samples": [{"sample_id": "HG00001", "study_id": "S-1"}, {"sample_id": "HG00002"}]},
    )
    assert linked.status_code == 200
    assert linked.json()[0] == {
        "sample_id": "HG00001",
        "link": "linked",
        "study_id": "S-1",
        "files": ["cohort.vcf.gz"],
    }

    refused = _post(
        clients["steward"],
        f"{API}/{draft.accession}/samples/link/",
        {"samples": [{"sample_id": "HG00003", "study_id": "NOPE"}]},
    )
    assert refused.status_code == 400
    assert _problem(refused)["detail"] == (
        "Sample HG00003: unknown study ID NOPE (no participant is enrolled with it)."
    )
