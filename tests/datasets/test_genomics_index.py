from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pysam
import pytest

from datasets import synthetic
from datasets.genomics import FileFormat, GenomicFileError, Severity, check_index, find_index

if TYPE_CHECKING:
    from tests.datasets.conftest import CopyWithIndex, GoodFiles


def _age(path: Path, seconds: int = 60) -> None:
    """Make a file look older than anything written since."""
    then = time.time_ns() - seconds * 1_000_000_000
    os.utime(path, ns=(then, then))


@pytest.mark.parametrize(
    ("data_name", "index_name"),
    [
        ("x.bam", "x.bam.bai"),
        ("x.bam", "x.bai"),
        ("x.bam", "x.bam.csi"),
        ("x.cram", "x.cram.crai"),
        ("x.cram", "x.crai"),
        ("x.vcf.gz", "x.vcf.gz.tbi"),
        ("x.vcf.gz", "x.vcf.gz.csi"),
        ("x.bcf", "x.bcf.csi"),
    ],
)
def test_find_index_by_conventional_name(
    good: GoodFiles, tmp_path: Path, data_name: str, index_name: str
) -> None:
    source = {".bam": good.bam, ".cram": good.cram, ".gz": good.vcf_gz, ".bcf": good.bcf}[
        Path(data_name).suffix
    ]
    data = tmp_path / data_name
    shutil.copy(source, data)
    assert find_index(data) is None
    index_source = next(source.parent.glob(f"{source.name}.*"))
    shutil.copy(index_source, tmp_path / index_name)
    assert find_index(data) == tmp_path / index_name


def test_find_index_prefers_htslib_order(good: GoodFiles, tmp_path: Path) -> None:
    data = tmp_path / "x.bam"
    shutil.copy(good.bam, data)
    for name in ("x.bai", "x.bam.bai"):
        shutil.copy(good.bam.with_name(good.bam.name + ".bai"), tmp_path / name)
    assert find_index(data) == tmp_path / "x.bam.bai"


@pytest.mark.parametrize(
    ("attribute", "index_format"),
    [
        ("bam", FileFormat.BAI),
        ("cram", FileFormat.CRAI),
        ("vcf_gz", FileFormat.TBI),
        ("bcf", FileFormat.CSI),
    ],
)
def test_check_index_accepts_matching_index(
    good: GoodFiles, attribute: str, index_format: FileFormat
) -> None:
    result = check_index(getattr(good, attribute))
    assert result.problems == ()
    assert result.ok
    assert result.index_format is index_format
    assert result.matches is True
    assert not result.stale


def test_check_index_accepts_csi_for_bam_and_vcf(tmp_path: Path) -> None:
    bam = synthetic.write_bam(tmp_path / "c.bam", sample="S1", csi=True)
    vcf = synthetic.write_vcf_gz(tmp_path / "c.vcf.gz", samples=["S1"], csi=True)
    for path in (bam, vcf):
        result = check_index(path)
        assert result.ok, result.problems
        assert result.index_format is FileFormat.CSI


def test_check_index_reports_missing_index(copy_with_index: CopyWithIndex, good: GoodFiles) -> None:
    bam = copy_with_index(good.bam, "lonely.bam", index=False)
    result = check_index(bam)
    assert not result.ok
    assert result.index_path is None
    [problem] = result.problems
    assert problem.severity is Severity.WARNING
    assert problem.message == (
        f"{bam}: no index found (looked for lonely.bam.bai, lonely.bai, lonely.bam.csi, "
        "lonely.csi); create one with samtools index"
    )


def test_check_index_reports_missing_explicit_index(
    copy_with_index: CopyWithIndex, good: GoodFiles, tmp_path: Path
) -> None:
    vcf = copy_with_index(good.vcf_gz, index=False)
    [problem] = check_index(vcf, tmp_path / "elsewhere.tbi").problems
    assert problem.message == (
        f"{vcf}: the index elsewhere.tbi does not exist; create one with bcftools index --tbi"
    )


def test_check_index_accepts_explicit_index_in_another_folder(
    good: GoodFiles, tmp_path: Path
) -> None:
    result = check_index(good.vcf_gz, good.vcf_gz.with_name(good.vcf_gz.name + ".tbi"))
    assert result.ok
    moved = tmp_path / "elsewhere.tbi"
    shutil.copy2(good.vcf_gz.with_name(good.vcf_gz.name + ".tbi"), moved)
    assert check_index(good.vcf_gz, moved).ok


def test_check_index_rejects_index_of_the_wrong_kind(
    copy_with_index: CopyWithIndex, good: GoodFiles, tmp_path: Path
) -> None:
    bam = copy_with_index(good.bam, index=False)
    shutil.copy(good.vcf_gz.with_name(good.vcf_gz.name + ".tbi"), tmp_path / f"{bam.name}.bai")
    result = check_index(bam)
    [problem] = result.problems
    assert result.index_format is FileFormat.TBI
    assert problem.severity is Severity.FATAL
    assert problem.message == (
        f"{bam}: the index NA12878.bam.bai is a TBI index, which does not apply to BAM data "
        "(expected BAI or CSI); re-index with samtools index"
    )


def test_check_index_rejects_text_posing_as_index(
    copy_with_index: CopyWithIndex, good: GoodFiles, tmp_path: Path
) -> None:
    vcf = copy_with_index(good.vcf_gz, index=False)
    (tmp_path / f"{vcf.name}.tbi").write_text("not an index\n")
    [problem] = check_index(vcf).problems
    assert problem.message == (
        f"{vcf}: the index cohort.vcf.gz.tbi is not an index (the content is plain text); "
        "re-index with bcftools index --tbi"
    )


def test_check_index_older_but_matching_is_a_warning(
    copy_with_index: CopyWithIndex, good: GoodFiles
) -> None:
    bam = copy_with_index(good.bam)
    _age(bam.with_name(bam.name + ".bai"))
    result = check_index(bam)
    assert result.stale
    assert result.matches is True
    [problem] = result.problems
    assert problem.severity is Severity.WARNING
    assert problem.code == "index-stale"
    assert problem.message == (
        f"{bam}: the index NA12878.bam.bai is older than the data file (stale); "
        "re-index with samtools index"
    )


@pytest.mark.parametrize(
    ("name", "write", "rewrite", "reindex"),
    [
        (
            "re.bam",
            lambda p, **kw: synthetic.write_bam(p, sample="S1", **kw),
            {"reads_per_contig": 160},
            "samtools index",
        ),
        (
            "re.vcf.gz",
            lambda p, **kw: synthetic.write_vcf_gz(p, samples=["S1", "S2"], **kw),
            {"variants_per_contig": 160},
            "bcftools index --tbi",
        ),
        (
            "re.bcf",
            lambda p, **kw: synthetic.write_bcf(p, samples=["S1", "S2"], **kw),
            {"variants_per_contig": 160},
            "bcftools index",
        ),
    ],
)
def test_check_index_data_rewritten_after_indexing(
    tmp_path: Path,
    name: str,
    write: Callable[..., Path],
    rewrite: dict[str, int],
    reindex: str,
) -> None:
    path = tmp_path / name
    write(path, index=True)
    index = next(tmp_path.glob(f"{name}.*"))
    write(path, index=False, seed=11, **rewrite)
    _age(index)
    result = check_index(path)
    assert result.stale
    assert result.matches is False
    stale, mismatch = result.problems
    assert stale.message == (
        f"{path}: the index {index.name} is older than the data file (stale); "
        f"re-index with {reindex}"
    )
    assert mismatch.severity is Severity.FATAL
    assert mismatch.message.startswith(
        f"{path}: the index {index.name} does not match the data file ("
    )
    assert mismatch.message.endswith(f"); re-index with {reindex}")


def test_check_index_from_another_file_is_a_mismatch_even_when_newer(
    tmp_path: Path, good: GoodFiles
) -> None:
    bam = synthetic.write_bam(tmp_path / "small.bam", sample="S1", reads_per_contig=40, index=False)
    _age(bam)
    shutil.copy(good.bam.with_name(good.bam.name + ".bai"), tmp_path / "small.bam.bai")
    result = check_index(bam)
    assert not result.stale
    [problem] = result.problems
    assert problem.code == "index-mismatch"
    assert "does not match the data file" in problem.message


def test_check_index_count_disagreement_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "n.vcf.gz"
    synthetic.write_vcf_gz(path, samples=["S1"], variants_per_contig=100, seed=0)
    index = path.with_name(path.name + ".tbi")
    kept = index.read_bytes()
    synthetic.write_vcf_gz(path, samples=["S1"], variants_per_contig=101, seed=3, index=False)
    index.write_bytes(kept)
    [problem] = check_index(path).problems
    assert problem.message == (
        f"{path}: the index n.vcf.gz.tbi does not match the data file (reading chr1 through it "
        "returned 101 records but the index counts 100); re-index with bcftools index --tbi"
    )


def _vcf_at(first_position: int) -> str:
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    )
    rows = (f"chr1\t{first_position + i}\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n" for i in range(10))
    return header + "".join(rows)


def test_check_index_region_query_disagreement_is_reported(tmp_path: Path) -> None:
    # Same bytes per record, same counts, other positions: only the bins can tell.
    path = tmp_path / "moved.vcf.gz"
    synthetic.bgzip_text(path, _vcf_at(100_001))
    pysam.tabix_index(str(path), preset="vcf", force=True)
    synthetic.bgzip_text(path, _vcf_at(200_001))
    [*_, problem] = check_index(path).problems
    assert problem.message == (
        f"{path}: the index moved.vcf.gz.tbi does not match the data file (a region query at "
        "chr1:200,001 misses the record there); re-index with bcftools index --tbi"
    )


def test_check_index_cram_rewritten_after_indexing(tmp_path: Path, good: GoodFiles) -> None:
    cram = synthetic.write_cram(
        tmp_path / "re.cram", reference_path=good.reference, sample="S1", reads_per_contig=100
    )
    synthetic.write_cram(
        cram, reference_path=good.reference, sample="S1", reads_per_contig=150, index=False
    )
    [*_, problem] = check_index(cram).problems
    assert problem.code == "index-mismatch"
    assert problem.message.startswith(f"{cram}: the index re.cram.crai does not match")


@pytest.mark.parametrize(
    ("attribute", "suffix", "kind"),
    [("bam", ".bai", "BAI"), ("vcf_gz", ".tbi", "TBI"), ("bcf", ".csi", "CSI")],
)
def test_check_index_damaged_index(
    copy_with_index: CopyWithIndex, good: GoodFiles, attribute: str, suffix: str, kind: str
) -> None:
    data = copy_with_index(getattr(good, attribute))
    index = data.with_name(data.name + suffix)
    raw = index.read_bytes()
    # Keep the magic so the kind is still recognised, lose the rest.
    index.write_bytes(raw[:40] if suffix == ".bai" else raw[: len(raw) // 2])
    [problem] = check_index(data).problems
    assert problem.code == "index-damaged"
    assert problem.message.startswith(
        f"{data}: the index {index.name} is damaged (its {kind} structure cannot be read: "
    )


def test_check_index_cut_crai_is_not_an_index(
    copy_with_index: CopyWithIndex, good: GoodFiles
) -> None:
    cram = copy_with_index(good.cram)
    index = cram.with_name(cram.name + ".crai")
    index.write_bytes(index.read_bytes()[:20])
    [problem] = check_index(cram).problems
    assert problem.message == (
        f"{cram}: the index NA12891.cram.crai is not an index (the content is gzip data that "
        "is damaged or cut short); re-index with samtools index"
    )


def test_check_index_plain_vcf_cannot_be_indexed(good: GoodFiles) -> None:
    [problem] = check_index(good.plain_vcf).problems
    assert problem.code == "not-indexable"
    assert problem.severity is Severity.WARNING


def test_check_index_missing_data_file_raises(tmp_path: Path) -> None:
    with pytest.raises(GenomicFileError, match=r"gone\.bam: no such file"):
        check_index(tmp_path / "gone.bam")
