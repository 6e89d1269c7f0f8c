"""Real clients on URLs resolved through DRS on a live server: the access endpoint answers 202
while the delivery is prepared (the worker runs in-process here), then {url, headers};
samtools reads a region of a BAM and bcftools of a consent-filtered VCF copy through those
URLs (`URL##idx##INDEX_URL`, the index resolved as its own DRS object), and get what a local
read gets. Remote reads run in a fresh temporary folder (samtools keeps remote indexes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from portal.models import ApiTokenScope, User
from tests.access.delivery_support import Sources, World
from tests.access.drs_support import (
    DRS,
    SIX_HASH,
    add_mixed_vcf,
    schema_errors,
    source_id,
)
from tests.factories import api_token_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("samtools", "bcftools")),
        reason="needs Debian's samtools and bcftools",
    ),
]


def _get(url: str, token: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _access_url(live_server: Any, token: str, object_id: str) -> str:
    """Ask until the delivery is ready: the first answer is 202, the next one the URL."""
    url = f"{live_server.url}{DRS}/objects/{object_id}/access/https"
    status, headers, body = _get(url, token)
    if status == 202:
        assert headers["Retry-After"] == "5"
        status, headers, body = _get(url, token)
    assert status == 200, body
    assert schema_errors(body, "1.2.0", "schemas/AccessURL.yaml") == []
    assert body["headers"] == []
    assert body["url"].startswith(f"{live_server.url}/access/download/")
    return body["url"]


def _run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_samtools_reads_a_bam_through_drs_resolved_urls(
    delivery_world: World, researcher: User, live_server: Any, tmp_path: Path
) -> None:
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    bam = delivery_world.bam_s000
    fresh = tmp_path / "remote"
    fresh.mkdir()

    bam_url = _access_url(live_server, token, source_id(bam))
    bai_url = _access_url(live_server, token, source_id(bam.index))
    region = "chr1:1-100000"
    remote = _run("samtools", "view", f"{bam_url}##idx##{bai_url}", region, cwd=fresh)
    local = _run("samtools", "view", str(delivery_world.root / bam.path), region, cwd=tmp_path)

    assert remote == local
    assert remote.count("\n") > 0


def test_bcftools_reads_the_consent_filtered_copy_through_drs(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Sources,
    live_server: Any,
    tmp_path: Path,
) -> None:
    mixed_vcf = add_mixed_vcf(delivery_world, steward, sources)
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    fresh = tmp_path / "remote"
    fresh.mkdir()
    objects = f"{live_server.url}{DRS}/objects"

    first, _, _ = _get(f"{objects}/{source_id(mixed_vcf)}", token)
    status, _, copy = _get(f"{objects}/{source_id(mixed_vcf)}", token)
    assert (first, status) == (202, 200)
    assert copy["id"] == f"{source_id(mixed_vcf)}.{SIX_HASH}"
    vcf_url = _access_url(live_server, token, copy["id"])
    tbi_url = _access_url(live_server, token, f"{source_id(mixed_vcf.index)}.{SIX_HASH}")
    samples = _run("bcftools", "query", "-l", f"{vcf_url}##idx##{tbi_url}", cwd=fresh)
    region = "chr1:1-100000"
    remote = _run(
        "bcftools", "view", "-H", "-r", region, f"{vcf_url}##idx##{tbi_url}", cwd=fresh
    ).splitlines()
    local = _run(
        "bcftools",
        "view",
        "-H",
        "-r",
        region,
        "-s",
        "S000,S001,S002,S003,S004,S005",
        str(delivery_world.root / mixed_vcf.path),
        cwd=tmp_path,
    ).splitlines()

    assert samples.split() == ["S000", "S001", "S002", "S003", "S004", "S005"]
    assert len(remote) == len(local) > 0
    # Positions and genotypes match (INFO tags recomputed by a subset may differ).
    assert [line.split("\t")[:2] + line.split("\t")[9:] for line in remote] == [
        line.split("\t")[:2] + line.split("\t")[9:] for line in local
    ]
