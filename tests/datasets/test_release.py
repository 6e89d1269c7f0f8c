from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from datasets import services
from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus
from portal.models import AuditEvent, User
from portal.transitions import TransitionError
from tests.datasets.conftest import register, validate_now

if TYPE_CHECKING:
    from pathlib import Path

    from tests.datasets.conftest import GoodFiles, PlaceFile


def _unlink_all(steward: User, dataset: Dataset) -> None:
    services.samples_link(
        actor=steward,
        dataset=dataset,
        choices=[
            services.SampleChoice(s, unlinked=True)
            for s in dataset.samples.values_list("sample_id", flat=True)
        ],
    )


def test_release_a_complete_dataset(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    validate_now(steward, register(steward, dataset, "NA12878.bam")[0])
    _unlink_all(steward, dataset)

    services.dataset_release(actor=steward, dataset=dataset)

    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.RELEASED
    assert dataset.released_at is not None
    assert AuditEvent.objects.filter(action="dataset.released").exists()


def test_release_reports_every_problem_and_the_dataset_stays_draft(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile, data_root: Path
) -> None:
    cut = place(good.bam, "cut.bam", index=False)
    cut.write_bytes(cut.read_bytes()[:1000])
    place(good.vcf_gz)
    place(good.cram)
    failed = validate_now(steward, register(steward, dataset, "cut.bam")[0])
    validate_now(steward, register(steward, dataset, "cohort.vcf.gz")[0])
    register(steward, dataset, "NA12891.cram")

    with pytest.raises(services.ReleaseError) as caught:
        services.dataset_release(actor=steward, dataset=dataset)

    assert caught.value.problems == (
        "NA12891.cram: not validated yet (Waiting for validation).",
        "NA12891.cram.crai: not validated yet (Waiting for validation).",
        "cut.bam failed validation: the file is truncated: the BGZF end-of-file marker is "
        "missing (an interrupted copy or write); copy or write it again",
        "12 sample(s) are neither linked to a participant nor marked unlinked: HG00001, "
        "HG00002, HG00003, HG00004, HG00005, HG00006, HG00007, HG00008, HG00009, HG00010 and 2 "
        "more.",
    )
    assert failed.validation_message.startswith("cut.bam: the file is truncated")
    assert data_root.name not in " ".join(caught.value.problems)
    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.DRAFT


def test_a_dataset_without_files_is_not_released(steward: User, dataset: Dataset) -> None:
    with pytest.raises(services.ReleaseError, match="has no data files; add files"):
        services.dataset_release(actor=steward, dataset=dataset)


def test_a_file_changed_after_validation_blocks_release(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    path = place(good.bam)
    validate_now(steward, register(steward, dataset, "NA12878.bam")[0])
    _unlink_all(steward, dataset)
    with path.open("ab") as f:
        f.write(b"\0")

    with pytest.raises(services.ReleaseError) as caught:
        services.dataset_release(actor=steward, dataset=dataset)

    assert caught.value.problems[0].startswith(
        "NA12878.bam: the file has changed since it was validated"
    )


def test_retire_a_released_dataset(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    validate_now(steward, register(steward, dataset, "NA12878.bam")[0])
    _unlink_all(steward, dataset)
    services.dataset_release(actor=steward, dataset=dataset)

    services.dataset_retire(actor=steward, dataset=dataset, reason="superseded")

    dataset.refresh_from_db()
    assert dataset.status == DatasetStatus.RETIRED
    assert AuditEvent.objects.get(action="dataset.retired").after["reason"] == "superseded"
    with pytest.raises(TransitionError, match="A dataset that is retired cannot become retired"):
        services.dataset_retire(actor=steward, dataset=dataset)


def test_a_draft_cannot_be_retired(steward: User, dataset: Dataset) -> None:
    with pytest.raises(TransitionError, match="A dataset that is draft cannot become retired"):
        services.dataset_retire(actor=steward, dataset=dataset)


def test_a_released_dataset_cannot_be_released_again(
    steward: User, dataset: Dataset, **_: Any
) -> None:
    Dataset.objects.filter(pk=dataset.pk).update(status=DatasetStatus.RELEASED)
    with pytest.raises(services.DatasetError, match="is released: you can release only a draft"):
        services.dataset_release(actor=steward, dataset=dataset)
    assert not DataFile.objects.filter(status=FileStatus.VALID).exists()
