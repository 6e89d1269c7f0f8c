from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from datasets import services
from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus, LinkStatus, Sample
from portal.exceptions import PermissionError_
from portal.models import AuditEvent, User
from tests.datasets.conftest import register
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


def test_data_files_are_registered_with_their_indexes(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam, "reads/NA12878.bam")
    place(good.cram, "reads/NA12891.cram")
    place(good.vcf_gz, "calls/cohort.vcf.gz")
    place(good.bcf, "calls/cohort.bcf")

    created = register(
        steward,
        dataset,
        "reads/NA12878.bam",
        "reads/NA12891.cram",
        "calls/cohort.vcf.gz",
        "calls/cohort.bcf",
    )

    by_path = {f.path: f for f in created}
    assert {p: f.format for p, f in by_path.items()} == {
        "reads/NA12878.bam": "bam",
        "reads/NA12878.bam.bai": "bai",
        "reads/NA12891.cram": "cram",
        "reads/NA12891.cram.crai": "crai",
        "calls/cohort.vcf.gz": "vcf.gz",
        "calls/cohort.vcf.gz.tbi": "tbi",
        "calls/cohort.bcf": "bcf",
        "calls/cohort.bcf.csi": "csi",
    }
    assert by_path["reads/NA12878.bam.bai"].index_of == by_path["reads/NA12878.bam"]
    assert by_path["reads/NA12878.bam"].size == good.bam.stat().st_size
    assert all(f.status == FileStatus.PENDING for f in created)
    event = AuditEvent.objects.get(action="dataset.files_register")
    assert len(event.after["files"]) == 8


def test_listing_an_index_with_its_data_file_registers_it_once(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)

    created = register(steward, dataset, "NA12878.bam.bai", "NA12878.bam")

    assert sorted(f.path for f in created) == ["NA12878.bam", "NA12878.bam.bai"]


def test_validation_starts_at_registration(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)

    bam, bai = register(steward, dataset, "NA12878.bam", start_validation=True)

    bam.refresh_from_db()
    bai.refresh_from_db()
    assert (bam.status, bai.status) == (FileStatus.VALIDATING, FileStatus.VALIDATING)


def test_every_bad_entry_is_reported_and_nothing_is_registered(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile, data_root: Path
) -> None:
    place(good.bam)
    place(good.plain_vcf)
    place(good.cram, "CRAM-named.bam", index=False)
    (data_root / "folder").mkdir()
    (data_root / "lonely.bai").write_bytes(b"BAI\x01")
    entries = [
        services.FileEntry("NA12878.bam", where="line 2"),
        services.FileEntry("NA12878.bam", where="line 3"),
        services.FileEntry("missing.bam", where="line 4"),
        services.FileEntry("folder", where="line 5"),
        services.FileEntry("cohort.vcf", where="line 6"),
        services.FileEntry("CRAM-named.bam", "BAM", where="line 7"),
        services.FileEntry("NA12878.bam", "FASTQ", where="line 8"),
        services.FileEntry("lonely.bai", where="line 9"),
    ]

    with pytest.raises(services.RegistrationError) as caught:
        services.datafiles_register(actor=steward, dataset=dataset, entries=entries)

    assert caught.value.problems == (
        "line 3: NA12878.bam is listed twice (also line 2).",
        "line 4: missing.bam: no such file under the data root.",
        "line 5: folder: is a folder, not a file.",
        "line 6: cohort.vcf: an uncompressed VCF cannot be registered: compress it with bgzip "
        "and index it with bcftools index --tbi",
        "line 7: CRAM-named.bam: declared as BAM but the content is CRAM",
        "line 8: NA12878.bam: the format 'FASTQ' is not one of BAM, CRAM, VCF.gz, BCF, BAI, "
        "CRAI, TBI, CSI",
        "line 9: lonely.bai is an index: register the data file it indexes, and the index "
        "beside it is registered and linked with it.",
    )
    assert not DataFile.objects.exists()
    assert not AuditEvent.objects.filter(action="dataset.files_register").exists()


def test_a_file_already_in_the_dataset_is_refused(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    register(steward, dataset, "NA12878.bam")

    with pytest.raises(services.RegistrationError) as caught:
        register(steward, dataset, "./NA12878.bam")

    assert caught.value.problems == (f"NA12878.bam is already registered in {dataset.accession}.",)
    assert DataFile.objects.count() == 2


def test_unknown_content_is_registered_by_its_name_and_fails_validation(
    steward: User, dataset: Dataset, data_root: Path
) -> None:
    (data_root / "notes.bam").write_text("hello\n")
    (data_root / "notes.txt").write_text("hello\n")

    assert [f.format for f in register(steward, dataset, "notes.bam")] == ["bam"]
    with pytest.raises(services.RegistrationError, match="notes.txt: not a recognised genomic"):
        register(steward, dataset, "notes.txt")


def test_files_are_added_only_to_a_draft(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    Dataset.objects.filter(pk=dataset.pk).update(status=DatasetStatus.RELEASED)

    with pytest.raises(services.DatasetError, match="is released: files can be added to only"):
        register(steward, dataset, "NA12878.bam")


def test_only_stewards_register(
    researcher: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    with pytest.raises(PermissionError_):
        register(researcher, dataset, "NA12878.bam")


def test_sample_mapping_links_samples_at_registration(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.vcf_gz)
    first, second = ParticipantFactory(study_id="S-1"), ParticipantFactory(study_id="S-2")
    links = [
        services.SampleLinkEntry("HG00001", "S-1", "cohort.vcf.gz", "map line 2"),
        services.SampleLinkEntry("HG00002", "S-2", "cohort.vcf.gz", "map line 3"),
    ]

    vcf = register(steward, dataset, "cohort.vcf.gz", sample_links=links)[0]

    assert vcf.samples == list(good.vcf_samples)
    linked = Sample.objects.filter(dataset=dataset).order_by("sample_id")
    assert [(s.sample_id, s.participant, s.link) for s in linked] == [
        ("HG00001", first, LinkStatus.LINKED),
        ("HG00002", second, LinkStatus.LINKED),
    ]


def test_bad_sample_mapping_rows_are_all_reported(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.vcf_gz)
    ParticipantFactory(study_id="S-1")
    ParticipantFactory(study_id="S-2")
    links: list[Any] = [
        services.SampleLinkEntry("HG00001", "S-1", "cohort.vcf.gz", "map.tsv line 2"),
        services.SampleLinkEntry("HG00002", "S-404", "cohort.vcf.gz", "map.tsv line 3"),
        services.SampleLinkEntry("NOT-THERE", "S-1", "cohort.vcf.gz", "map.tsv line 4"),
        services.SampleLinkEntry("HG00001", "S-2", "cohort.vcf.gz", "map.tsv line 5"),
        services.SampleLinkEntry("HG00003", "S-2", "other.vcf.gz", "map.tsv line 6"),
    ]

    with pytest.raises(services.RegistrationError) as caught:
        register(steward, dataset, "cohort.vcf.gz", sample_links=links)

    assert caught.value.problems == (
        "map.tsv line 3: unknown study ID S-404: no participant is enrolled with it.",
        "map.tsv line 4: sample NOT-THERE is not in cohort.vcf.gz.",
        "map.tsv line 5: sample HG00001 is linked to S-1 by map.tsv line 2 and to S-2 here.",
        "map.tsv line 6: other.vcf.gz is not among the files to register.",
    )
    assert not DataFile.objects.exists()
    assert not Sample.objects.exists()


def test_removing_a_file_takes_its_index_and_samples(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.vcf_gz)
    place(good.bam)
    ParticipantFactory(study_id="S-1")
    vcf = register(
        steward,
        dataset,
        "cohort.vcf.gz",
        "NA12878.bam",
        sample_links=[services.SampleLinkEntry("HG00001", "S-1", "cohort.vcf.gz")],
    )[0]

    services.datafile_remove(actor=steward, file=vcf)

    assert sorted(dataset.files.values_list("path", flat=True)) == [
        "NA12878.bam",
        "NA12878.bam.bai",
    ]
    assert not dataset.samples.exists()
