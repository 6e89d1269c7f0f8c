"""Real clients nobody here wrote, against the portal's signed links on a live server: curl
downloads a file whose SHA-256 matches, samtools and bcftools read a region remotely
(`URL##idx##INDEX_URL`, htslib's many Range requests) and get what a local read gets; after
the participant withdraws, the same URLs answer 410 and samtools reads nothing.

Remote reads run in a fresh temporary folder: samtools keeps a remote index it downloaded
in its working directory and would reuse it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from access.models import Delivery, SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request
from portal.models import User
from tests.access.delivery_support import World, add_file, withdraw

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("curl", "samtools", "bcftools")),
        reason="needs Debian's curl, samtools and bcftools",
    ),
]


def _urls(live_server: Any, delivery: Delivery, name: str) -> tuple[str, str]:
    data = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__name=name)
    index = SignedLink.objects.get(
        delivery_file__delivery=delivery, delivery_file__index_of=data.delivery_file
    )
    return live_server.url + link_url(data), live_server.url + link_url(index)


def _run(*command: str, cwd: Path) -> str:
    done = subprocess.run(  # noqa: S603 - fixed tools, arguments from the test
        command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_curl_samtools_and_bcftools_read_through_signed_links(
    delivery_world: World, researcher: User, live_server: Any, tmp_path: Path
) -> None:
    delivery = delivery_request(
        actor=researcher,
        grant=delivery_world.grant,
        datafile_ids=[delivery_world.bam_s000.pk, delivery_world.vcf_consenting.pk],
    )
    bam_url, bai_url = _urls(live_server, delivery, "S000.bam")
    vcf_url, tbi_url = _urls(live_server, delivery, "consenting.vcf.gz")
    local_bam = delivery_world.root / "reads/S000.bam"
    local_vcf = delivery_world.root / "calls/consenting.vcf.gz"
    fresh = tmp_path / "remote"
    fresh.mkdir()

    _run("curl", "--fail", "--silent", "-o", "S000.bam", bam_url, cwd=fresh)
    downloaded = hashlib.sha256((fresh / "S000.bam").read_bytes()).hexdigest()
    region = "chr1:1-100000"
    remote_reads = _run("samtools", "view", f"{bam_url}##idx##{bai_url}", region, cwd=fresh)
    local_reads = _run("samtools", "view", str(local_bam), region, cwd=tmp_path)
    remote_calls = _run(
        "bcftools", "view", "-H", "-r", region, f"{vcf_url}##idx##{tbi_url}", cwd=fresh
    )
    local_calls = _run("bcftools", "view", "-H", "-r", region, str(local_vcf), cwd=tmp_path)

    assert downloaded == delivery_world.bam_s000.sha256
    assert remote_reads == local_reads
    assert remote_reads.count("\n") > 0
    assert remote_calls == local_calls
    assert remote_calls.count("\n") > 0

    withdraw(delivery_world.cohort.consenting[0])

    status = _run("curl", "--silent", "-o", "/dev/null", "-w", "%{http_code}", bam_url, cwd=fresh)
    assert status == "410"
    refused = subprocess.run(  # noqa: S603
        ["samtools", "view", f"{bam_url}##idx##{bai_url}", region],  # noqa: S607
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert refused.stdout == ""


def test_bcftools_reads_the_filtered_copy_remotely_and_sees_only_consented_samples(
    delivery_world: World,
    researcher: User,
    steward: User,
    sources: Any,
    live_server: Any,
    tmp_path: Path,
) -> None:
    mixed = add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        sources.vcf_mixed,
        "calls/mixed.vcf.gz",
        ["S000", "S001", "S002", "S003", "S004", "S005", "S006", "S007"],
    )
    delivery = delivery_request(
        actor=researcher, grant=delivery_world.grant, datafile_ids=[mixed.pk]
    )
    delivery.refresh_from_db()
    served = delivery.files.get(is_index=False)
    vcf_url, tbi_url = _urls(live_server, delivery, served.name)
    fresh = tmp_path / "remote"
    fresh.mkdir()
    remote = f"{vcf_url}##idx##{tbi_url}"

    samples = _run("bcftools", "query", "-l", remote, cwd=fresh).split()
    remote_calls = _run("bcftools", "view", "-H", "-r", "chr1:1-100000", remote, cwd=fresh)
    local_calls = _run(
        "bcftools",
        "view",
        "-H",
        "-r",
        "chr1:1-100000",
        "-s",
        "S000,S001,S002,S003,S004,S005",
        str(delivery_world.root / "calls/mixed.vcf.gz"),
        cwd=tmp_path,
    )

    assert samples == ["S000", "S001", "S002", "S003", "S004", "S005"]
    assert remote_calls.count("\n") > 0
    assert [line.split("\t")[9:] for line in remote_calls.splitlines()] == [
        line.split("\t")[9:] for line in local_calls.splitlines()
    ]
