from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pysam
import pytest

from datasets import genomics, synthetic
from datasets.genomics import FileFormat, Severity, compute_checksums, validate

if TYPE_CHECKING:
    from tests.datasets.conftest import CopyWithIndex, GoodFiles


def _truncated(source: Path, copy_with_index: CopyWithIndex) -> Path:
    path = copy_with_index(source, f"cut-{source.name}")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("attribute", ["bam", "vcf_gz", "bcf"])
def test_validate_good_file_has_no_problems(good: GoodFiles, attribute: str) -> None:
    path = getattr(good, attribute)
    report = validate(path)
    assert report.problems == ()
    assert report.ok
    assert report.complete is True
    assert report.index is not None
    assert report.index.ok
    assert report.header is not None
    assert report.checksums == compute_checksums(path)


def test_validate_good_cram_with_its_reference(good: GoodFiles) -> None:
    report = validate(good.cram, reference_path=good.reference)
    assert report.problems == ()
    assert report.format is FileFormat.CRAM


def test_validate_cram_without_reference_warns(good: GoodFiles) -> None:
    report = validate(good.cram)
    assert report.ok
    assert report.messages == (
        f"{good.cram}: no reference was given, so the CRAM records were not decoded against one",
    )


def test_validate_cram_with_the_wrong_reference(good: GoodFiles, tmp_path: Path) -> None:
    other = synthetic.write_reference_fasta(tmp_path / "other.fa", seed=99)
    report = validate(good.cram, reference_path=other)
    assert not report.ok
    assert report.messages == (
        f"{good.cram}: the records cannot be decoded with the reference other.fa "
        "(not the reference the file was written against, or damaged data)",
    )


@pytest.mark.parametrize(("attribute", "header_survives"), [("bam", True), ("vcf_gz", False)])
def test_validate_truncated_bgzf(
    good: GoodFiles, copy_with_index: CopyWithIndex, attribute: str, header_survives: bool
) -> None:
    path = _truncated(getattr(good, attribute), copy_with_index)
    report = validate(path)
    assert not report.ok
    assert report.complete is False
    assert report.messages == (
        f"{path}: the file is truncated: the BGZF end-of-file marker is missing "
        "(an interrupted copy or write); copy or write it again",
    )
    # htslib writes a BAM header in a block of its own, which survives the cut; this small
    # VCF.gz holds header and records in one block, cut in the middle.
    assert (report.header is not None) is header_survives
    assert report.checksums is not None
    assert report.checksums.size == path.stat().st_size


def test_validate_truncated_cram(good: GoodFiles, copy_with_index: CopyWithIndex) -> None:
    path = _truncated(good.cram, copy_with_index)
    report = validate(path, reference_path=good.reference)
    assert [p.code for p in report.fatal] == ["truncated"]
    assert report.fatal[0].message == (
        f"{path}: the file is truncated: the CRAM end-of-file container is missing "
        "(an interrupted copy or write); copy or write it again"
    )


def test_validate_missing_index_is_a_warning(
    good: GoodFiles, copy_with_index: CopyWithIndex
) -> None:
    path = copy_with_index(good.vcf_gz, index=False)
    report = validate(path)
    assert report.ok
    assert [p.severity for p in report.problems] == [Severity.WARNING]
    assert report.messages == (
        f"{path}: no index found (looked for cohort.vcf.gz.tbi, cohort.vcf.gz.csi); "
        "create one with bcftools index --tbi",
    )


def test_validate_stale_index(tmp_path: Path) -> None:
    path = synthetic.write_bam(tmp_path / "x.bam", sample="S1", reads_per_contig=100)
    synthetic.write_bam(path, sample="S1", reads_per_contig=80, seed=5, index=False)
    then = time.time_ns() - 60 * 1_000_000_000
    os.utime(tmp_path / "x.bam.bai", ns=(then, then))
    report = validate(path)
    assert not report.ok
    assert report.messages == (
        f"{path}: the index x.bam.bai is older than the data file (stale); "
        "re-index with samtools index",
        f"{path}: the index x.bam.bai does not match the data file (it points to byte 9,103 but "
        "the file has 7,380 bytes); re-index with samtools index",
    )
    assert [p.severity for p in report.problems] == [Severity.WARNING, Severity.FATAL]


def test_validate_text_named_bam(tmp_path: Path) -> None:
    path = tmp_path / "sample.bam"
    path.write_text("@HD\tVN:1.6\nread1\t0\tchr1\t100\t60\t4M\t*\t0\t0\tACGT\tIIII\n")
    report = validate(path)
    assert report.format is FileFormat.UNKNOWN
    assert report.messages == (
        f"{path}: named like a BAM file, but the content is plain text, "
        "not a recognised genomic format",
    )
    assert report.checksums is None


def test_validate_gzip_instead_of_bgzip(good: GoodFiles, tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "cohort.vcf.gz"
    path.write_bytes(gzip.compress(good.plain_vcf.read_bytes()))
    assert validate(path).messages == (
        f"{path}: the VCF is compressed with gzip instead of bgzip, so it cannot be indexed; "
        "recompress it with bgzip",
    )


def test_validate_duplicate_sample_names(tmp_path: Path) -> None:
    text = tmp_path / "dup.vcf"
    text.write_text(
        "##fileformat=VCFv4.2\n"
        "##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tHG001\tHG002\tHG001\n"
        "chr1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\n"
    )
    path = tmp_path / "dup.vcf.gz"
    pysam.tabix_compress(str(text), str(path))
    pysam.tabix_index(str(path), preset="vcf")
    report = validate(path)
    assert report.messages == (
        f"{path}: duplicate sample names in the VCF header: HG001; each sample must appear once",
    )
    assert report.fatal[0].code == "duplicate-samples"
    assert report.header is None


def test_validate_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.cram"
    path.touch()
    report = validate(path)
    assert report.size == 0
    assert report.messages == (f"{path}: the file is empty (0 bytes)",)


def test_validate_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "never-uploaded.bam"
    report = validate(path)
    assert not report.ok
    assert report.size is None
    assert report.messages == (f"{path}: no such file",)


def test_validate_file_vanishing_midway(
    good: GoodFiles, copy_with_index: CopyWithIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy_with_index(good.bam)
    real_check_index = genomics.check_index

    def delete_then_check(target: Path, index_path: Path | None = None) -> genomics.IndexCheck:
        target.unlink()
        return real_check_index(target, index_path)

    monkeypatch.setattr(genomics, "check_index", delete_then_check)
    report = validate(path)
    assert report.messages == (f"{path}: the file vanished while it was being validated",)
    assert report.header is not None


def test_validate_an_index_is_not_data(good: GoodFiles) -> None:
    index = good.vcf_gz.with_name(good.vcf_gz.name + ".tbi")
    assert validate(index).messages == (f"{index}: this is a TBI index, not data",)


def test_validate_plain_vcf_warns_it_cannot_be_indexed(good: GoodFiles) -> None:
    report = validate(good.plain_vcf)
    assert report.ok
    assert report.complete is None
    assert [p.code for p in report.warnings] == ["not-indexable"]


def test_validate_bam_without_sample_name_warns(tmp_path: Path) -> None:
    path = tmp_path / "anon.bam"
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 1000}]}
    with pysam.AlignmentFile(str(path), "wb", header=header):
        pass
    pysam.index(str(path))
    report = validate(path)
    assert report.messages == (f"{path}: the header names no sample (@RG SM)",)


def test_validate_passes_progress_through(good: GoodFiles) -> None:
    calls: list[tuple[int, int]] = []
    validate(good.bam, on_progress=lambda done, total: calls.append((done, total)))
    size = good.bam.stat().st_size
    assert calls[-1] == (size, size)
