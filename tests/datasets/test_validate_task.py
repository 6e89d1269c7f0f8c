from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from datasets import genomics, services, synthetic
from datasets.models import DataFile, Dataset, FileStatus, Sample
from datasets.tasks import validate_datafile_task
from portal.models import AuditEvent, User
from tests.datasets.conftest import register, validate_now

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


def test_valid_vcf_gets_checksums_header_facts_and_samples(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    path = place(good.vcf_gz, "cohort/cohort.vcf.gz")
    vcf, tbi = register(steward, dataset, "cohort/cohort.vcf.gz")

    vcf = validate_now(steward, vcf)

    expected = genomics.compute_checksums(path)
    assert vcf.status == FileStatus.VALID
    assert (vcf.size, vcf.sha256, vcf.md5) == (expected.size, expected.sha256, expected.md5)
    assert vcf.bytes_hashed == vcf.size
    assert vcf.mtime_ns == path.stat().st_mtime_ns
    assert vcf.reference_genome == "GRCh38"
    assert [c["name"] for c in vcf.contigs] == ["chr1", "chr2"]
    assert vcf.samples == list(good.vcf_samples)
    assert vcf.record_count == 2 * good.variants_per_contig
    assert vcf.validation_message == ""
    tbi.refresh_from_db()
    assert tbi.index_of == vcf
    assert tbi.status == FileStatus.VALID
    assert tbi.sha256 == genomics.compute_checksums(path.with_name("cohort.vcf.gz.tbi")).sha256
    assert sorted(Sample.objects.filter(dataset=dataset).values_list("sample_id", flat=True)) == (
        sorted(good.vcf_samples)
    )


def test_progress_is_written_to_the_row_while_hashing(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    place(good.bam)
    bam = register(steward, dataset, good.bam.name)[0]
    seen: list[tuple[int, int | None]] = []
    real_validate = genomics.validate

    def validate_watching(path: Path, *, on_progress: Any = None) -> genomics.ValidationReport:
        def progress(done: int, total: int) -> None:
            on_progress(done, total)
            row = DataFile.objects.values_list("bytes_hashed", "size").get(pk=bam.pk)
            seen.append(row)

        progress(0, path.stat().st_size)
        return real_validate(path, on_progress=progress)

    monkeypatch.setattr(genomics, "validate", validate_watching)

    validate_now(steward, bam)

    size = good.bam.stat().st_size
    assert seen[0] == (0, size)
    assert seen[-1] == (size, size)


def test_task_is_a_no_op_unless_the_file_is_validating(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    bam = register(steward, dataset, good.bam.name)[0]

    assert validate_datafile_task(bam.pk) == "skipped (pending)"
    bam = validate_now(steward, bam)
    events = AuditEvent.objects.count()
    assert validate_datafile_task(bam.pk) == "skipped (valid)"
    assert validate_datafile_task(999_999) == "missing"

    assert AuditEvent.objects.count() == events
    bam.refresh_from_db()
    assert bam.status == FileStatus.VALID


def test_registration_queues_the_task_once_committed(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    django_capture_on_commit_callbacks: Any,
) -> None:
    place(good.bam)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        bam = register(steward, dataset, good.bam.name, start_validation=True)[0]
        bam.refresh_from_db()
        assert bam.status == FileStatus.VALIDATING

    assert len(callbacks) == 1
    bam.refresh_from_db()
    assert bam.status == FileStatus.VALID


def test_file_vanished_between_registration_and_validation(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    path = place(good.bam, "reads/NA12878.bam")
    bam = register(steward, dataset, "reads/NA12878.bam")[0]
    path.unlink()

    bam = validate_now(steward, bam)

    assert bam.status == FileStatus.FAILED
    assert bam.validation_message == (
        "reads/NA12878.bam: the file has vanished since it was registered "
        "(no such file under the data root)."
    )
    assert bam.index.status == FileStatus.FAILED


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _gzip_instead_of_bgzip(path: Path, source: Path) -> None:
    with gzip.open(source, "rb") as f:
        text = f.read()
    path.write_bytes(gzip.compress(text))


def _mismatched_index(path: Path, other: Path) -> None:
    path.with_name(path.name + ".tbi").write_bytes(other.read_bytes())
    os.utime(path.with_name(path.name + ".tbi"))


DAMAGED = [
    ("truncated BAM", "cut.bam", "cut.bam: the file is truncated: the BGZF end-of-file marker"),
    ("gzip VCF", "gz.vcf.gz", "gz.vcf.gz: the VCF is compressed with gzip instead of bgzip"),
    ("empty BAM", "empty.bam", "empty.bam: the file is empty (0 bytes)"),
    ("text named BAM", "notes.bam", "notes.bam: named like a BAM file, but the content is plain"),
    ("damaged index", "bad-index.bam", "bad-index.bam: the index bad-index.bam.bai is damaged"),
    ("mismatched index", "other.vcf.gz", "other.vcf.gz: the index other.vcf.gz.tbi does not match"),
    ("truncated CRAM", "cut.cram", "cut.cram: the file is truncated: the CRAM end-of-file"),
    ("truncated BCF", "cut.bcf", "cut.bcf: the file is truncated: the BGZF end-of-file marker"),
    (
        "index of the wrong kind",
        "wrong.vcf.gz",
        "wrong.vcf.gz: the index wrong.vcf.gz.tbi is a BAI index, which does not apply to VCF.gz",
    ),
    (
        "duplicate samples",
        "dup.vcf.gz",
        "dup.vcf.gz: duplicate sample names in the VCF header: HG00001",
    ),
]


@pytest.mark.parametrize(("case", "name", "message"), DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damaged_file_fails_with_a_message_naming_it(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    data_root: Path,
    case: str,
    name: str,
    message: str,
) -> None:
    if case == "truncated BAM":
        _truncate(place(good.bam, name, index=False))
    elif case == "gzip VCF":
        _gzip_instead_of_bgzip(data_root / name, good.vcf_gz)
    elif case == "empty BAM":
        (data_root / name).write_bytes(b"")
    elif case == "text named BAM":
        (data_root / name).write_text("just some notes\n")
    elif case == "damaged index":
        path = place(good.bam, name)
        index = path.with_name(name + ".bai")
        index.write_bytes(index.read_bytes()[:20])
    elif case == "mismatched index":
        path = place(good.vcf_gz, name)
        (data_root / "x").mkdir()  # pysam crashes writing into a missing folder
        other = synthetic.write_vcf_gz(
            data_root / "x" / "other.vcf.gz", samples=["A"], variants_per_contig=50, seed=3
        )
        _mismatched_index(path, other.with_name("other.vcf.gz.tbi"))
    elif case == "truncated CRAM":
        _truncate(place(good.cram, name, index=False))
    elif case == "truncated BCF":
        _truncate(place(good.bcf, name, index=False))
    elif case == "index of the wrong kind":
        place(good.vcf_gz, name, index=False)
        (data_root / f"{name}.tbi").write_bytes(Path(f"{good.bam}.bai").read_bytes())
    elif case == "duplicate samples":
        synthetic.write_vcf_gz(data_root / name, samples=["HG00001", "HG00001"])

    file = register(steward, dataset, name)[0]
    file = validate_now(steward, file)

    assert file.status == FileStatus.FAILED
    assert file.validation_message.startswith(message), file.validation_message
    assert str(data_root) not in file.validation_message
    assert dataset.samples.count() == 0


def test_file_changed_during_validation_fails(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = place(good.bam)
    bam = register(steward, dataset, good.bam.name)[0]
    real_validate = genomics.validate

    def validate_then_touch(target: Path, **kwargs: Any) -> genomics.ValidationReport:
        report = real_validate(target, **kwargs)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        return report

    monkeypatch.setattr(genomics, "validate", validate_then_touch)

    bam = validate_now(steward, bam)

    assert bam.status == FileStatus.FAILED
    assert bam.validation_message == (
        "NA12878.bam: the file changed while it was being validated; validate it again once "
        "it is completely written."
    )


def test_failed_validation_can_be_retried_after_the_fix(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    django_capture_on_commit_callbacks: Any,
) -> None:
    path = place(good.bam, index=False)
    _truncate(path)
    bam = validate_now(steward, register(steward, dataset, good.bam.name)[0])
    assert bam.status == FileStatus.FAILED

    place(good.bam, index=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.datafile_validation_retry(actor=steward, file=bam)
    bam.refresh_from_db()
    assert bam.status == FileStatus.VALID
    assert bam.validation_message.startswith("NA12878.bam: no index found")
    assert bam.problems[0]["severity"] == "warning"


def test_retry_of_a_valid_file_is_refused(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam)
    bam = validate_now(steward, register(steward, dataset, good.bam.name)[0])

    with pytest.raises(services.DatasetError, match="only a file that failed validation"):
        services.datafile_validation_retry(actor=steward, file=bam)


def test_time_limit_marks_the_file_failed_for_a_retry(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    place(good.bam)
    bam = register(steward, dataset, good.bam.name)[0]

    def too_slow(**kwargs: Any) -> DataFile:
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(services, "datafile_validate", too_slow)

    bam = validate_now(steward, bam)

    assert bam.status == FileStatus.FAILED
    assert bam.validation_message == (
        "NA12878.bam: validation did not finish within 6 hours; validate it again"
    )
    assert bam.index.status == FileStatus.FAILED
