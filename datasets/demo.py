"""Demo datasets: real small genomic files written with pysam, registered, validated, linked
and released through the same services as the pages. Idempotent: files already on disk are
kept (rewriting them would change what was validated) and finished steps are skipped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from consent.models import Participant
from datasets import services, synthetic
from datasets.models import (
    Committee,
    DataFile,
    Dataset,
    DatasetStatus,
    FileStatus,
    LinkStatus,
)
from datasets.paths import data_root as configured_root
from portal.models import User

DEMO_FOLDER = "demo"
COHORT_TITLE = "Custodian cohort: genome-wide genotypes"
TUMOUR_TITLE = "Custodian tumour sequencing pilot"
VARIANTS_PER_CONTIG = 1500  # two contigs: 3,000 variants
TUMOUR_SAMPLES = 3


@dataclass(frozen=True)
class _Plan:
    title: str
    description: str
    conditions: dict[str, Any]
    files: list[str]
    links: list[tuple[str, str, str]]  # sample ID, study ID, file


def sample_id(n: int) -> str:
    """The laboratory's sample IDs are not the study IDs: the mapping links them."""
    return f"CUSTS{n:04d}"


def _write_files(
    folder: Path, participants: Sequence[Participant], stdout: TextIO
) -> tuple[str, list[str]]:
    """The cohort VCF.gz and the tumour BAMs (with indexes), if not on disk yet."""
    samples = [sample_id(n) for n in range(1, len(participants) + 1)]
    (folder / "cohort").mkdir(parents=True, exist_ok=True)
    (folder / "tumour").mkdir(parents=True, exist_ok=True)
    vcf = folder / "cohort" / "genotypes.vcf.gz"
    if not vcf.exists():
        synthetic.write_vcf_gz(
            vcf, samples=samples, variants_per_contig=VARIANTS_PER_CONTIG, seed=7
        )
        stdout.write(
            f"  wrote {vcf} ({len(samples)} samples, {2 * VARIANTS_PER_CONTIG} variants)\n"
        )
    bams = []
    for n, name in enumerate(samples[:TUMOUR_SAMPLES], start=1):
        bam = folder / "tumour" / f"{name}.tumour.bam"
        if not bam.exists():
            synthetic.write_bam(bam, sample=name, reads_per_contig=300, seed=100 + n)
            stdout.write(f"  wrote {bam}\n")
        bams.append(bam.name)
    return vcf.name, bams


def _plans(
    prefix: str, participants: Sequence[Participant], vcf: str, bams: list[str]
) -> list[_Plan]:
    cohort = f"{prefix}/cohort/{vcf}"
    tumour = [f"{prefix}/tumour/{name}" for name in bams]
    return [
        _Plan(
            title=COHORT_TITLE,
            description=(
                "Genotypes of every Custodian participant at 3,000 sites on chromosomes 1 "
                "and 2 (GRCh38), from the study's genotyping array."
            ),
            conditions={"permission": "GRU"},
            files=[cohort],
            links=[(sample_id(n), p.study_id, cohort) for n, p in enumerate(participants, start=1)],
        ),
        _Plan(
            title=TUMOUR_TITLE,
            description=(
                "Aligned reads (BAM) of tumour samples from the first participants of the "
                "cancer sub-study."
            ),
            conditions={
                "permission": "DS",
                "diseases": ["MONDO:0004992"],
                "modifiers": ["NCU", "IRB"],
            },
            files=tumour,
            links=[
                (sample_id(n), participants[n - 1].study_id, path)
                for n, path in enumerate(tumour, start=1)
            ],
        ),
    ]


def _dataset(steward: User, committee: Committee, plan: _Plan) -> Dataset:
    existing = Dataset.objects.filter(title=plan.title, created_by=steward).first()
    if existing is not None:
        return existing
    return services.dataset_create(
        actor=steward,
        title=plan.title,
        description=plan.description,
        committee=committee,
        **plan.conditions,
    )


def _complete(steward: User, dataset: Dataset, plan: _Plan, stdout: TextIO) -> None:
    registered = set(dataset.files.values_list("path", flat=True))
    entries = [services.FileEntry(path) for path in plan.files if path not in registered]
    if entries:
        wanted = {e.path for e in entries}
        links = [services.SampleLinkEntry(*link) for link in plan.links if link[2] in wanted]
        services.datafiles_register(
            actor=steward,
            dataset=dataset,
            entries=entries,
            sample_links=links,
            start_validation=False,
        )
    for file in DataFile.objects.filter(dataset=dataset, index_of__isnull=True).order_by("path"):
        if file.status == FileStatus.PENDING:
            services.datafile_validation_start(actor=steward, file=file, queue=False)
        if file.status in (FileStatus.PENDING, FileStatus.VALIDATING):
            file = services.datafile_validate(file=file)
        if file.status != FileStatus.VALID:
            raise RuntimeError(f"demo file {file.path} did not validate: {file.validation_message}")
    unresolved = dataset.samples.filter(link=LinkStatus.UNRESOLVED).values_list(
        "sample_id", flat=True
    )
    if unresolved:
        wanted_links = {s: study for s, study, _ in plan.links}
        services.samples_link(
            actor=steward,
            dataset=dataset,
            choices=[
                services.SampleChoice(s, wanted_links.get(s, ""), s not in wanted_links)
                for s in unresolved
            ],
        )
    services.dataset_release(actor=steward, dataset=dataset)


def seed_demo_datasets(
    *,
    steward: User,
    committee: Committee,
    participants: list[Participant],
    data_root: Path,
    stdout: TextIO,
) -> None:
    """Two released demo datasets under `data_root`/demo (inside CUSTODIAN_DATA_ROOT):
    a GRU cohort VCF.gz of every participant, and DS(cancer)+NCU+IRB tumour BAMs.

    Files are validated here, synchronously, by `datafile_validate`: the service the
    worker's task runs, so the demo needs no worker.
    """
    root = configured_root().resolve()
    folder = Path(data_root).resolve() / DEMO_FOLDER
    if not folder.is_relative_to(root):
        raise ValueError(f"{data_root} is not inside CUSTODIAN_DATA_ROOT ({root}).")
    prefix = folder.relative_to(root).as_posix()
    vcf, bams = _write_files(folder, participants, stdout)
    for plan in _plans(prefix, participants, vcf, bams):
        dataset = _dataset(steward, committee, plan)
        if dataset.status == DatasetStatus.DRAFT:
            _complete(steward, dataset, plan, stdout)
            stdout.write(
                f"Demo dataset {dataset.accession} ({plan.title}): files validated here, "
                "synchronously, by the service the worker's task runs; samples linked; "
                "released.\n"
            )
        else:
            stdout.write(f"Demo dataset {dataset.accession} ({plan.title}) is already there.\n")
