from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pysam
import pysam.bcftools
import pytest

from datasets.genomics import (
    FileFormat,
    GenomicFileError,
    check_bgzf_eof,
    check_cram_eof,
    check_eof,
    detect_format,
)

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles


@pytest.mark.parametrize(
    ("attribute", "suffix", "expected"),
    [
        ("bam", "", FileFormat.BAM),
        ("bam", ".bai", FileFormat.BAI),
        ("cram", "", FileFormat.CRAM),
        ("cram", ".crai", FileFormat.CRAI),
        ("vcf_gz", "", FileFormat.VCF_GZ),
        ("vcf_gz", ".tbi", FileFormat.TBI),
        ("bcf", "", FileFormat.BCF),
        ("bcf", ".csi", FileFormat.CSI),
        ("plain_vcf", "", FileFormat.VCF),
        ("reference", "", FileFormat.UNKNOWN),
    ],
)
def test_detect_format_recognises_each_kind(
    good: GoodFiles, attribute: str, suffix: str, expected: FileFormat
) -> None:
    path: Path = getattr(good, attribute)
    assert detect_format(path.with_name(path.name + suffix)) is expected


@pytest.mark.parametrize(
    ("attribute", "misleading_name", "expected"),
    [
        ("bam", "reads.vcf.gz", FileFormat.BAM),
        ("vcf_gz", "variants.bam", FileFormat.VCF_GZ),
        ("bcf", "variants.vcf", FileFormat.BCF),
        ("cram", "reads.bam", FileFormat.CRAM),
        ("plain_vcf", "variants.bcf", FileFormat.VCF),
    ],
)
def test_detect_format_ignores_the_file_name(
    good: GoodFiles, tmp_path: Path, attribute: str, misleading_name: str, expected: FileFormat
) -> None:
    target = tmp_path / misleading_name
    shutil.copy(getattr(good, attribute), target)
    assert detect_format(target) is expected


def test_detect_format_text_named_bam_is_unknown(tmp_path: Path) -> None:
    fake = tmp_path / "sample.bam"
    fake.write_text("@HD\tVN:1.6\nthis is a SAM-ish text file, not BAM\n")
    assert detect_format(fake) is FileFormat.UNKNOWN


def test_detect_format_gzip_vcf_that_is_not_bgzf_is_unknown(
    good: GoodFiles, tmp_path: Path
) -> None:
    target = tmp_path / "variants.vcf.gz"
    target.write_bytes(gzip.compress(good.plain_vcf.read_bytes()))
    assert detect_format(target) is FileFormat.UNKNOWN


def test_detect_format_bcf_written_by_bcftools(good: GoodFiles, tmp_path: Path) -> None:
    target = tmp_path / "variants.data"
    pysam.bcftools.view("-Ob", "-o", str(target), str(good.vcf_gz), catch_stdout=False)
    assert detect_format(target) is FileFormat.BCF


def test_detect_format_raw_bcf_without_bgzf(good: GoodFiles, tmp_path: Path) -> None:
    target = tmp_path / "variants.raw"
    target.write_bytes(gzip.decompress(good.bcf.read_bytes()))
    assert target.read_bytes()[:4] == b"BCF\x02"
    assert detect_format(target) is FileFormat.BCF


def test_detect_format_empty_file_is_unknown(tmp_path: Path) -> None:
    empty = tmp_path / "empty.vcf.gz"
    empty.touch()
    assert detect_format(empty) is FileFormat.UNKNOWN


def test_detect_format_random_bytes_are_unknown(tmp_path: Path) -> None:
    blob = tmp_path / "blob.cram"
    blob.write_bytes(bytes(range(256)) * 8)
    assert detect_format(blob) is FileFormat.UNKNOWN


def test_detect_format_missing_file_raises_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.bam"
    with pytest.raises(GenomicFileError) as caught:
        detect_format(missing)
    assert str(caught.value) == f"{missing}: no such file"
    assert caught.value.code == "missing"


def test_detect_format_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(GenomicFileError, match="is a directory, not a file"):
        detect_format(tmp_path)


def test_data_formats_declare_their_indexes() -> None:
    assert FileFormat.BAM.index_formats == (FileFormat.BAI, FileFormat.CSI)
    assert FileFormat.CRAM.index_formats == (FileFormat.CRAI,)
    assert FileFormat.VCF_GZ.index_formats == (FileFormat.TBI, FileFormat.CSI)
    assert FileFormat.BCF.index_formats == (FileFormat.CSI,)
    assert all(f.needs_index for f in (FileFormat.BAM, FileFormat.CRAM, FileFormat.VCF_GZ))
    assert not FileFormat.VCF.needs_index
    assert not FileFormat.BAI.needs_index
    assert FileFormat.TBI.is_index
    assert not FileFormat.TBI.is_data
    assert FileFormat.VCF.is_data


@pytest.mark.parametrize("attribute", ["bam", "vcf_gz", "bcf"])
def test_check_bgzf_eof_true_for_complete_files(good: GoodFiles, attribute: str) -> None:
    assert check_bgzf_eof(getattr(good, attribute))
    assert check_eof(getattr(good, attribute)) is True


@pytest.mark.parametrize("attribute", ["bam", "vcf_gz"])
def test_check_bgzf_eof_false_when_cut(good: GoodFiles, tmp_path: Path, attribute: str) -> None:
    data = getattr(good, attribute).read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[:-1])
    assert not check_bgzf_eof(cut)


def test_check_cram_eof(good: GoodFiles, tmp_path: Path) -> None:
    assert check_cram_eof(good.cram)
    assert check_eof(good.cram) is True
    cut = tmp_path / "cut.cram"
    cut.write_bytes(good.cram.read_bytes()[:-5])
    assert not check_cram_eof(cut)
    assert not check_bgzf_eof(good.cram)


def test_check_eof_none_for_plain_vcf(good: GoodFiles) -> None:
    assert check_eof(good.plain_vcf) is None
