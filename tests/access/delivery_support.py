"""Delivery fixtures: genomic files generated with pysam for the cohort's samples, placed in a
data root of the test's own as validated DataFile rows, and the researcher's active grant.

The cohort (tests/access/conftest.py) has samples S000–S005 of consenting participants and
S006–S007 of participants who refused research use.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from access.models import AccessRequest, Grant
from consent.models import Channel, CurrentConsent, Participant, WithdrawalLevel
from datasets import synthetic
from datasets.models import DataFile, DataFileFormat, Dataset, FileStatus
from portal.models import User
from tests.access.conftest import Cohort, approve_by_votes, submit_for_review

CONSENTING_VCF_SAMPLES = ("S000", "S001", "S002", "S003", "S004", "S005")
MIXED_VCF_SAMPLES = (*CONSENTING_VCF_SAMPLES, "S006", "S007")


@dataclass(frozen=True)
class Sources:
    bam_s000: Path
    bam_s001: Path
    bam_s006: Path
    vcf_consenting: Path
    vcf_mixed: Path


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    folder = tmp_path_factory.mktemp("delivery-sources")
    return Sources(
        bam_s000=synthetic.write_bam(folder / "S000.bam", sample="S000", reads_per_contig=60),
        bam_s001=synthetic.write_bam(folder / "S001.bam", sample="S001", reads_per_contig=40),
        bam_s006=synthetic.write_bam(folder / "S006.bam", sample="S006", reads_per_contig=40),
        vcf_consenting=synthetic.write_vcf_gz(
            folder / "consenting.vcf.gz", samples=CONSENTING_VCF_SAMPLES, variants_per_contig=50
        ),
        vcf_mixed=synthetic.write_vcf_gz(
            folder / "mixed.vcf.gz", samples=MIXED_VCF_SAMPLES, variants_per_contig=50
        ),
    )


@pytest.fixture
def data_root(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "data-root"
    root.mkdir()
    settings.CUSTODIAN_DATA_ROOT = root
    return root


def _validated(
    dataset: Dataset,
    steward: User,
    target: Path,
    relative: str,
    fmt: str,
    samples: list[str],
    index_of: DataFile | None = None,
) -> DataFile:
    """What validation records: size, checksums and mtime_ns of the file as placed."""
    content = target.read_bytes()
    stat = target.stat()
    return DataFile.objects.create(
        dataset=dataset,
        path=relative,
        format=fmt,
        index_of=index_of,
        size=stat.st_size,
        sha256=hashlib.sha256(content).hexdigest(),
        md5=hashlib.md5(content).hexdigest(),  # noqa: S324 - a checksum, not security
        mtime_ns=stat.st_mtime_ns,
        samples=samples,
        status=FileStatus.VALID,
        validated_at=timezone.now(),
        registered_by=steward,
    )


INDEX_FORMAT = {
    ".bai": DataFileFormat.BAI,
    ".crai": DataFileFormat.CRAI,
    ".tbi": DataFileFormat.TBI,
    ".csi": DataFileFormat.CSI,
}
DATA_FORMAT = {
    ".bam": DataFileFormat.BAM,
    ".cram": DataFileFormat.CRAM,
    ".bcf": DataFileFormat.BCF,
}


def add_file(
    dataset: Dataset, steward: User, root: Path, source: Path, relative: str, samples: list[str]
) -> DataFile:
    """Place a generated file and its index in the data root as validated DataFile rows."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    fmt = next(
        (f for suffix, f in DATA_FORMAT.items() if source.name.endswith(suffix)),
        DataFileFormat.VCF_GZ,
    )
    datafile = _validated(dataset, steward, target, relative, fmt, samples)
    for suffix, index_format in INDEX_FORMAT.items():
        index_source = source.with_name(source.name + suffix)
        if index_source.exists():
            index_target = target.with_name(target.name + suffix)
            shutil.copy2(index_source, index_target)
            _validated(
                dataset, steward, index_target, relative + suffix, index_format, [], datafile
            )
    return datafile


@dataclass
class World:
    request: AccessRequest
    grant: Grant
    cohort: Cohort
    root: Path
    bam_s000: DataFile
    bam_s006: DataFile
    vcf_consenting: DataFile


@pytest.fixture
def approved_request(
    draft: AccessRequest,
    researcher: User,
    dac_chair: User,
    dac_member: User,
    django_capture_on_commit_callbacks: Any,
) -> AccessRequest:
    request = submit_for_review(draft, researcher, django_capture_on_commit_callbacks)
    return approve_by_votes(request, dac_chair, dac_member)


@pytest.fixture
def delivery_world(
    approved_request: AccessRequest,
    researcher: User,
    steward: User,
    cohort: Cohort,
    data_root: Path,
    sources: Sources,
) -> World:
    dataset = cohort.dataset
    return World(
        request=approved_request,
        grant=Grant.objects.get(request=approved_request, grantee=researcher),
        cohort=cohort,
        root=data_root,
        bam_s000=add_file(
            dataset, steward, data_root, sources.bam_s000, "reads/S000.bam", ["S000"]
        ),
        bam_s006=add_file(
            dataset, steward, data_root, sources.bam_s006, "reads/S006.bam", ["S006"]
        ),
        vcf_consenting=add_file(
            dataset,
            steward,
            data_root,
            sources.vcf_consenting,
            "calls/consenting.vcf.gz",
            list(CONSENTING_VCF_SAMPLES),
        ),
    )


def withdraw(participant: Participant, level: str = WithdrawalLevel.NO_USE) -> None:
    from consent.services import consent_withdraw

    consent_withdraw(
        actor=participant.user,
        participant=participant,
        level=level,
        signature=participant.user.full_name,
        channel=Channel.WEB,
        expected_sequence=CurrentConsent.objects.get(participant=participant).sequence,
    )


def bcftools_genotypes(path: Path, samples: list[str] | None = None) -> str:
    """Debian's bcftools (not the code under test) printing every record's genotypes."""
    command = ["bcftools", "query", "-H", "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n"]
    if samples:
        command += ["-s", ",".join(samples)]
    return subprocess.run([*command, str(path)], check=True, capture_output=True, text=True).stdout
