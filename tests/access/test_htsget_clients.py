"""The `htsget` command-line client (PyPI htsget) against a live server: tickets from
/ga4gh/htsget/v1 point at the slicing endpoint under the caller's own signed delivery link,
and the region it downloads is what pysam reads locally for that region: a BAM delivered as
is, and a VCF delivered as a consent-filtered copy (S006 and S007 refuse, so only
S000-S005 are in it). The delivery is made ready first (the worker runs in-process here: the
first ticket request answers 503 with Retry-After while it asks for the delivery)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pysam
import pytest
from rest_framework.test import APIClient

from access.models import DeliveryFile
from datasets.models import DataFile
from portal.models import ApiTokenScope, User
from tests.access.delivery_support import Sources, World
from tests.access.drs_support import add_mixed_vcf, source_id
from tests.access.htsget_support import HTSGET, fetch, ready
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db(transaction=True)

CONSENTING = ("S000", "S001", "S002", "S003", "S004", "S005")


def test_htsget_downloads_a_bam_region_equal_to_a_local_read(
    delivery_world: World, researcher: User, live_server: Any, tmp_path: Path
) -> None:
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    bam: DataFile = delivery_world.bam_s000
    ready(token, f"{HTSGET}/reads/{source_id(bam)}")
    out = tmp_path / "region.bam"

    fetch(
        f"{live_server.url}{HTSGET}/reads/{source_id(bam)}",
        token,
        out,
        "-r", "chr1", "-s", "0", "-e", "1000", "-f", "BAM",
    )  # fmt: skip

    with pysam.AlignmentFile(str(delivery_world.root / bam.path)) as local:
        expected = [r.to_string() for r in local.fetch("chr1", 0, 1000)]
        header = str(local.header)
    with pysam.AlignmentFile(str(out), check_sq=False) as remote:
        got = [r.to_string() for r in remote.fetch(until_eof=True)]
        assert str(remote.header) == header
    assert got == expected
    assert 0 < len(got) < 60  # a region, not chr1's 60 reads


def test_htsget_downloads_a_region_of_the_consent_filtered_vcf(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    live_server: Any,
    tmp_path: Path,
) -> None:
    mixed = add_mixed_vcf(delivery_world, steward, sources)
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    ready(token, f"{HTSGET}/variants/{source_id(mixed)}")
    out = tmp_path / "region.vcf.gz"

    fetch(
        f"{live_server.url}{HTSGET}/variants/{source_id(mixed)}",
        token,
        out,
        "-r", "chr1", "-s", "0", "-e", "1000", "-f", "VCF",
    )  # fmt: skip

    # The source read locally, its refusing samples left out (the copy recomputes INFO's
    # AC/AN for the samples it keeps, so INFO is compared against the copy below).
    with pysam.VariantFile(str(delivery_world.root / mixed.path)) as local:
        local.subset_samples(list(CONSENTING))
        expected = [_site(r) + _genotypes(r) for r in local.fetch("chr1", 0, 1000)]
    copy = DeliveryFile.objects.get(datafile=mixed).served_path
    with pysam.VariantFile(str(delivery_world.root / copy)) as local_copy:
        expected_text = [str(r) for r in local_copy.fetch("chr1", 0, 1000)]
    with pysam.VariantFile(str(out)) as remote:
        assert tuple(remote.header.samples) == CONSENTING
        records = list(remote)
    assert [_site(r) + _genotypes(r) for r in records] == expected
    assert [str(r) for r in records] == expected_text
    assert len(records) > 0


def _site(record: Any) -> list[str]:
    """CHROM, POS, ID, REF, ALT, QUAL, FILTER."""
    return str(record).split("\t")[:7]


def _genotypes(record: Any) -> list[str]:
    return [str(record.samples[name]["GT"]) for name in record.samples]


def test_htsget_class_header_is_the_header_alone(
    delivery_world: World, researcher: User, live_server: Any, tmp_path: Path
) -> None:
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    bam = delivery_world.bam_s000
    ready(token, f"{HTSGET}/reads/{source_id(bam)}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    ticket = client.get(f"{HTSGET}/reads/{source_id(bam)}", {"class": "header"}).json()
    url = ticket["htsget"]["urls"][0]["url"]
    assert url.startswith("http://testserver/access/slice/")
    assert url.endswith("/S000.bam?class=header")
    out = tmp_path / "header.bam"
    fetch(f"{live_server.url}{HTSGET}/reads/{source_id(bam)}?class=header", token, out)

    with pysam.AlignmentFile(str(delivery_world.root / bam.path)) as local:
        header = str(local.header)
    with pysam.AlignmentFile(str(out), check_sq=False) as remote:
        assert str(remote.header) == header
        assert list(remote.fetch(until_eof=True)) == []
