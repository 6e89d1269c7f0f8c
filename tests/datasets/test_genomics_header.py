from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pysam
import pytest

from datasets import synthetic
from datasets.genomics import (
    Contig,
    FileFormat,
    GenomicFileError,
    ReferenceGenome,
    guess_reference,
    read_header,
)

if TYPE_CHECKING:
    from tests.datasets.conftest import CopyWithIndex, GoodFiles

needs_samtools = pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools CLI")
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools CLI")


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def test_read_header_bam(good: GoodFiles) -> None:
    header = read_header(good.bam)
    assert header.format is FileFormat.BAM
    assert header.contigs == tuple(Contig(n, length) for n, length in synthetic.GRCH38_CONTIGS)
    # Two read groups of one sample: the sample is listed once.
    assert header.samples == (good.bam_sample,)
    assert header.record_count == 2 * good.bam_reads_per_contig + good.bam_unmapped
    assert header.reference_genome is ReferenceGenome.GRCH38
    assert header.reference_evidence == "contig lengths (2 chromosomes match GRCh38)"


@needs_samtools
def test_read_header_bam_agrees_with_samtools(good: GoodFiles) -> None:
    header = read_header(good.bam)
    assert header.record_count == int(_run("samtools", "view", "-c", good.bam))
    read_groups = [
        line for line in _run("samtools", "view", "-H", good.bam).splitlines() if line[:3] == "@RG"
    ]
    assert len(read_groups) == 2
    assert {
        field[3:] for line in read_groups for field in line.split("\t") if field[:3] == "SM:"
    } == set(header.samples)


@needs_samtools
def test_read_header_cram_agrees_with_samtools(good: GoodFiles) -> None:
    header = read_header(good.cram, reference_path=good.reference)
    assert header.format is FileFormat.CRAM
    assert header.samples == (good.cram_sample,)
    assert [c.name for c in header.contigs] == ["chr1", "chr2"]
    assert header.record_count == int(
        _run("samtools", "view", "-c", "-T", good.reference, good.cram)
    )
    assert header.record_count == 2 * 120 + 3


def test_read_header_cram_without_reference(good: GoodFiles) -> None:
    assert read_header(good.cram).samples == (good.cram_sample,)


def test_read_header_missing_reference_raises(good: GoodFiles, tmp_path: Path) -> None:
    with pytest.raises(GenomicFileError, match=r"nope\.fa: no such reference file"):
        read_header(good.cram, reference_path=tmp_path / "nope.fa")


@needs_bcftools
@pytest.mark.parametrize("attribute", ["vcf_gz", "bcf", "plain_vcf"])
def test_read_header_samples_agree_with_bcftools(good: GoodFiles, attribute: str) -> None:
    path = getattr(good, attribute)
    header = read_header(path)
    assert header.samples == tuple(_run("bcftools", "query", "-l", path).split())
    assert header.samples == good.vcf_samples


@needs_bcftools
@pytest.mark.parametrize("attribute", ["vcf_gz", "bcf"])
def test_read_header_record_count_agrees_with_bcftools_index(
    good: GoodFiles, attribute: str
) -> None:
    path = getattr(good, attribute)
    header = read_header(path)
    assert header.record_count == int(_run("bcftools", "index", "--nrecords", path))
    assert header.record_count == 2 * good.variants_per_contig


def test_read_header_plain_vcf_has_no_record_count(good: GoodFiles) -> None:
    header = read_header(good.plain_vcf)
    assert header.format is FileFormat.VCF
    assert header.record_count is None


def test_read_header_without_index_has_no_record_count(
    copy_with_index: CopyWithIndex, good: GoodFiles
) -> None:
    assert read_header(copy_with_index(good.vcf_gz, index=False)).record_count is None
    assert read_header(copy_with_index(good.bam, index=False)).record_count is None


def test_read_header_ignores_statistics_of_a_stale_index(
    copy_with_index: CopyWithIndex, good: GoodFiles
) -> None:
    bam = copy_with_index(good.bam)
    then = time.time_ns() - 60 * 1_000_000_000
    os.utime(bam.with_name(bam.name + ".bai"), ns=(then, then))
    assert read_header(bam).record_count is None


def test_read_header_1000_genomes_sized_cohort(tmp_path: Path) -> None:
    samples = synthetic.sample_names(2504)
    path = synthetic.write_vcf_gz(tmp_path / "kg.vcf.gz", samples=samples, variants_per_contig=20)
    header = read_header(path)
    assert header.samples == samples
    assert header.record_count == 40


def test_read_header_grch37_from_lengths(tmp_path: Path) -> None:
    bam = synthetic.write_bam(tmp_path / "b37.bam", sample="S", contigs=synthetic.GRCH37_CONTIGS)
    header = read_header(bam)
    assert header.reference_genome is ReferenceGenome.GRCH37
    assert header.reference_evidence == "contig lengths (2 chromosomes match GRCh37)"


def test_read_header_build_from_sq_assembly_tag(tmp_path: Path) -> None:
    bam = synthetic.write_bam(
        tmp_path / "as.bam", sample="S", contigs=synthetic.SMALL_CONTIGS, assembly="GRCh38"
    )
    header = read_header(bam)
    assert header.reference_genome is ReferenceGenome.GRCH38
    assert header.reference_evidence == "@SQ AS GRCh38"


def test_read_header_build_from_vcf_reference_line(tmp_path: Path) -> None:
    vcf = synthetic.write_vcf_gz(
        tmp_path / "ref.vcf.gz",
        samples=["S"],
        contigs=synthetic.SMALL_CONTIGS,
        reference="file:///refs/human_g1k_v37.fasta",
    )
    header = read_header(vcf)
    assert header.reference_genome is ReferenceGenome.GRCH37
    assert header.reference_evidence == "##reference file:///refs/human_g1k_v37.fasta"


def test_read_header_unknown_build(good: GoodFiles) -> None:
    header = read_header(good.cram)
    assert header.reference_genome is ReferenceGenome.UNKNOWN
    assert header.reference_evidence == ""


def test_guess_reference_lengths_outweigh_labels() -> None:
    contigs = [Contig("chr1", 248_956_422), Contig("chrM", 16_569)]
    assert guess_reference(contigs, [("@SQ AS", "hg19")])[0] is ReferenceGenome.GRCH38


def test_guess_reference_mixed_lengths_are_unknown() -> None:
    contigs = [Contig("chr1", 248_956_422), Contig("2", 243_199_373)]
    assert guess_reference(contigs) == (
        ReferenceGenome.UNKNOWN,
        "contig lengths match both GRCh37 and GRCh38",
    )


def _duplicate_vcf_text() -> str:
    return (
        "##fileformat=VCFv4.2\n"
        "##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA1\tNA2\tNA1\tNA3\tNA2\n"
        "chr1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\t0/0\t0/1\n"
    )


@pytest.mark.parametrize("compressed", [True, False])
def test_read_header_duplicate_samples_raise(tmp_path: Path, compressed: bool) -> None:
    text_path = tmp_path / "dup.vcf"
    text_path.write_text(_duplicate_vcf_text())
    path = text_path
    if compressed:
        path = tmp_path / "dup.vcf.gz"
        pysam.tabix_compress(str(text_path), str(path))
    with pytest.raises(GenomicFileError) as caught:
        read_header(path)
    assert str(caught.value) == (
        f"{path}: duplicate sample names in the VCF header: NA1, NA2; each sample must appear once"
    )
    assert caught.value.code == "duplicate-samples"


def test_read_header_rejects_non_genomic_content(tmp_path: Path) -> None:
    fake = tmp_path / "reads.bam"
    fake.write_text("just text\n")
    with pytest.raises(GenomicFileError) as caught:
        read_header(fake)
    assert str(caught.value) == (
        f"{fake}: named like a BAM file, but the content is plain text, "
        "not a recognised genomic format"
    )


def test_read_header_rejects_an_index(good: GoodFiles) -> None:
    index = good.bam.with_name(good.bam.name + ".bai")
    with pytest.raises(GenomicFileError, match=r"\.bam\.bai: this is a BAI index, not data"):
        read_header(index)


def test_read_header_rejects_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.vcf"
    empty.touch()
    with pytest.raises(GenomicFileError, match=r"empty\.vcf: the file is empty \(0 bytes\)"):
        read_header(empty)
