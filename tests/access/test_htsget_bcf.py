"""htsget for variants in either format: a VCF.gz asked for as BCF, and a registered BCF
asked for as VCF (htsget's default), each region written through pysam by the slicing
endpoint and fetched with the `htsget` client; the consent filter holds in both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pysam
import pytest

from access.models import DeliveryFile
from datasets import synthetic
from datasets.models import DataFile
from portal.models import ApiTokenScope, User
from tests.access.delivery_support import (
    CONSENTING_VCF_SAMPLES,
    MIXED_VCF_SAMPLES,
    Sources,
    World,
    add_file,
)
from tests.access.drs_support import add_mixed_vcf, source_id
from tests.access.htsget_support import HTSGET, fetch, ready
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db(transaction=True)

REGION = ("-r", "chr1", "-s", "0", "-e", "2000")


def _records(path: Path) -> list[str]:
    with pysam.VariantFile(str(path)) as f:
        return [str(r) for r in f]


def test_a_consent_filtered_vcf_comes_as_bcf(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    live_server: Any,
    tmp_path: Path,
) -> None:
    mixed = add_mixed_vcf(delivery_world, steward, sources)
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    ready(token, f"{HTSGET}/variants/{source_id(mixed)}?format=BCF")
    out = tmp_path / "region.bcf"

    fetch(
        f"{live_server.url}{HTSGET}/variants/{source_id(mixed)}", token, out, *REGION, "-f", "BCF"
    )

    assert out.read_bytes()[:3] == b"\x1f\x8b\x08"  # BGZF
    with pysam.VariantFile(str(out)) as remote:
        assert remote.is_bcf
        assert tuple(remote.header.samples) == CONSENTING_VCF_SAMPLES
        got = [str(r) for r in remote]
    copy = DeliveryFile.objects.get(datafile=mixed).served_path
    with pysam.VariantFile(str(delivery_world.root / copy)) as local_copy:
        expected = [str(r) for r in local_copy.fetch("chr1", 0, 2000)]
    assert got == expected
    assert len(got) > 0


@pytest.fixture
def bcf(delivery_world: World, steward: User, tmp_path: Path) -> DataFile:
    source = synthetic.write_bcf(
        tmp_path / "mixed.bcf", samples=MIXED_VCF_SAMPLES, variants_per_contig=50, seed=7
    )
    return add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        source,
        "calls/mixed.bcf",
        list(MIXED_VCF_SAMPLES),
    )


def test_a_bcf_comes_as_vcf_consent_filtered(
    delivery_world: World, researcher: User, bcf: DataFile, live_server: Any, tmp_path: Path
) -> None:
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    ready(token, f"{HTSGET}/variants/{source_id(bcf)}")
    out = tmp_path / "region.vcf.gz"

    fetch(f"{live_server.url}{HTSGET}/variants/{source_id(bcf)}", token, out, *REGION)

    with pysam.VariantFile(str(out)) as remote:
        assert not remote.is_bcf
        assert tuple(remote.header.samples) == CONSENTING_VCF_SAMPLES
        got = [str(r).split("\t")[:5] for r in remote]
    with pysam.VariantFile(str(delivery_world.root / bcf.path)) as local:
        expected = [str(r).split("\t")[:5] for r in local.fetch("chr1", 0, 2000)]
    assert got == expected
    assert len(got) > 0
