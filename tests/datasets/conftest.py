"""Genomic fixture files, generated once per session with pysam (nothing is downloaded).

The session files are shared: a test that damages a file first copies it with
``copy_with_index`` into its own ``tmp_path``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from datasets import synthetic

CopyWithIndex = Callable[..., Path]


@dataclass(frozen=True)
class GoodFiles:
    reference: Path
    bam: Path
    bam_sample: str
    bam_reads_per_contig: int
    bam_unmapped: int
    cram: Path
    cram_sample: str
    vcf_gz: Path
    vcf_samples: tuple[str, ...]
    variants_per_contig: int
    bcf: Path
    plain_vcf: Path


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory) -> GoodFiles:
    folder = tmp_path_factory.mktemp("good")
    reference = synthetic.write_reference_fasta(folder / "ref.fa")
    samples = synthetic.sample_names(12)
    return GoodFiles(
        reference=reference,
        bam=synthetic.write_bam(
            folder / "NA12878.bam",
            sample="NA12878",
            reads_per_contig=150,
            unmapped_reads=7,
            read_groups=2,
        ),
        bam_sample="NA12878",
        bam_reads_per_contig=150,
        bam_unmapped=7,
        cram=synthetic.write_cram(
            folder / "NA12891.cram",
            reference_path=reference,
            sample="NA12891",
            reads_per_contig=120,
            unmapped_reads=3,
        ),
        cram_sample="NA12891",
        vcf_gz=synthetic.write_vcf_gz(
            folder / "cohort.vcf.gz", samples=samples, variants_per_contig=400
        ),
        vcf_samples=samples,
        variants_per_contig=400,
        bcf=synthetic.write_bcf(folder / "cohort.bcf", samples=samples, variants_per_contig=400),
        plain_vcf=synthetic.write_vcf(folder / "cohort.vcf", samples=samples),
    )


@pytest.fixture
def copy_with_index(tmp_path: Path) -> CopyWithIndex:
    """Copy a data file and any index beside it (x.bam.bai, x.vcf.gz.tbi…) into tmp_path."""

    def copy(source: Path, name: str | None = None, *, index: bool = True) -> Path:
        target = tmp_path / (name or source.name)
        shutil.copy2(source, target)
        if index:
            for sibling in source.parent.glob(f"{source.name}.*"):
                shutil.copy2(sibling, tmp_path / f"{target.name}{sibling.name[len(source.name) :]}")
        return target

    return copy
