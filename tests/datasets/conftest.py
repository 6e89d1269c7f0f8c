"""Genomic fixture files, generated once per session with pysam (nothing is downloaded).

The session files are shared: a test that damages a file first copies it with
``copy_with_index`` into its own ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datasets import services, synthetic
from datasets.models import DataFile, Dataset, FileStatus
from datasets.tasks import validate_datafile_task
from portal.models import User
from tests.factories import CommitteeFactory

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
    """Copy a data file and any index beside it (x.bam.bai, x.vcf.gz.tbi…) into tmp_path.

    The copies are stamped with the current time (data and index alike), as files written
    now: tests age an index relative to now, and the session files may be minutes old.
    """

    def copy(source: Path, name: str | None = None, *, index: bool = True) -> Path:
        target = tmp_path / (name or source.name)
        shutil.copy2(source, target)
        copies = [target]
        if index:
            for sibling in source.parent.glob(f"{source.name}.*"):
                copies.append(tmp_path / f"{target.name}{sibling.name[len(source.name) :]}")
                shutil.copy2(sibling, copies[-1])
        now = time.time_ns()
        for path in copies:
            os.utime(path, ns=(now, now))
        return target

    return copy


# --- registration and validation: a data root per test, a committee, a steward's dataset --------

PlaceFile = Callable[..., Path]


@pytest.fixture
def data_root(tmp_path: Path, settings: Any) -> Path:
    """An empty CUSTODIAN_DATA_ROOT for this test."""
    root = tmp_path / "data-root"
    root.mkdir()
    settings.CUSTODIAN_DATA_ROOT = root
    return root


@pytest.fixture
def place(data_root: Path) -> PlaceFile:
    """Copy a generated file (and, by default, the index beside it) into the data root."""

    def copy(source: Path, relative: str | None = None, *, index: bool = True) -> Path:
        target = data_root / (relative or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        if index:
            for sibling in source.parent.glob(f"{source.name}.*"):
                suffix = sibling.name[len(source.name) :]
                shutil.copy2(sibling, target.with_name(target.name + suffix))
        return target

    return copy


@pytest.fixture
def committee(db: None) -> Any:
    return CommitteeFactory(name="Genomics DAC", contact_email="dac@example.org")


def make_dataset(steward: User, committee: Any, **conditions: Any) -> Dataset:
    conditions.setdefault("permission", "GRU")
    return services.dataset_create(
        actor=steward,
        title=conditions.pop("title", "Test cohort"),
        description="Genotypes of a test cohort.",
        committee=committee,
        **conditions,
    )


@pytest.fixture
def dataset(steward: User, committee: Any) -> Dataset:
    return make_dataset(steward, committee)


def register(steward: User, dataset: Dataset, *paths: str, **kwargs: Any) -> list[DataFile]:
    """Register without queueing the worker: the test runs validation itself."""
    kwargs.setdefault("start_validation", False)
    return services.datafiles_register(
        actor=steward,
        dataset=dataset,
        entries=[services.FileEntry(p) for p in paths],
        **kwargs,
    )


def validate_now(steward: User, file: DataFile) -> DataFile:
    """What the worker does, in this process: VALIDATING first, then the task itself."""
    file.refresh_from_db()
    if file.status == FileStatus.PENDING:
        services.datafile_validation_start(actor=steward, file=file, queue=False)
    validate_datafile_task(file.pk)
    file.refresh_from_db()
    return file
