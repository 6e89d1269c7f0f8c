"""htsget for a CRAM: the ticket holds byte ranges of the CRAM itself under the caller's
signed link (header, the containers overlapping the region, the end-of-file container), and
the `htsget` client's concatenation of them is a valid CRAM holding every read of the
region. The CRAM here has 100 reads per container, so a region is a few containers of many."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pysam
import pytest
from rest_framework.test import APIClient

from datasets import synthetic
from datasets.models import DataFile
from portal.models import ApiTokenScope, User
from tests.access.delivery_support import World, add_file, withdraw
from tests.access.drs_support import source_id
from tests.access.htsget_support import HTSGET, fetch, ready
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def cram_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(CRAM of S000 with 2,000 reads on chr1 in containers of 100 reads, its reference)."""
    folder = tmp_path_factory.mktemp("cram")
    reference = synthetic.write_reference_fasta(
        folder / "ref.fa", contigs=[("chr1", 200_000), ("chr2", 50_000)]
    )
    written = synthetic.write_cram(
        folder / "written.cram", reference_path=reference, sample="S000",
        reads_per_contig=2000, index=False,
    )  # fmt: skip
    cram = folder / "S000.cram"
    subprocess.run(
        ["samtools", "view", "-C", "-T", str(reference),
         "--output-fmt-option", "seqs_per_slice=100",
         "--output-fmt-option", "slices_per_container=1",
         "-o", str(cram), str(written)],
        check=True,
    )  # fmt: skip
    subprocess.run(["samtools", "index", str(cram)], check=True)
    return cram, reference


@pytest.fixture
def cram(delivery_world: World, steward: User, cram_source: tuple[Path, Path]) -> DataFile:
    return add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        cram_source[0],
        "reads/S000.cram",
        ["S000"],
    )


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _names(path: Path, reference: Path, region: tuple[str, int, int] | None = None) -> list[str]:
    with pysam.AlignmentFile(str(path), reference_filename=str(reference)) as f:
        if region is None:
            return [r.query_name for r in f.fetch(until_eof=True)]
        return [r.query_name for r in f.fetch(*region)]


def test_the_client_gets_every_read_of_a_region_as_cram(
    delivery_world: World,
    researcher: User,
    cram: DataFile,
    cram_source: tuple[Path, Path],
    live_server: Any,
    tmp_path: Path,
) -> None:
    source, reference = cram_source
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    url = f"{HTSGET}/reads/{source_id(cram)}?format=CRAM"
    ready(token, url)
    out = tmp_path / "region.cram"

    fetch(
        f"{live_server.url}{HTSGET}/reads/{source_id(cram)}",
        token,
        out,
        "-r", "chr1", "-s", "50000", "-e", "60000", "-f", "CRAM",
    )  # fmt: skip

    expected = _names(source, reference, ("chr1", 50_000, 60_000))
    got = _names(out, reference)
    # Whole containers: every read of the region, in order, and at most a container's
    # worth (100 reads) either side of it.
    overlapping = [name for name in got if name in set(expected)]
    assert overlapping == expected
    assert 0 < len(expected) <= len(got) <= len(expected) + 200
    assert len(got) < 2000
    assert out.read_bytes()[:4] == b"CRAM"
    view = subprocess.run(
        ["samtools", "view", "-c", "-T", str(reference), str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(view.stdout) == len(got)
    assert "EOF marker is absent" not in view.stderr


def test_the_ticket_is_byte_ranges_of_the_signed_link(
    delivery_world: World, researcher: User, cram: DataFile
) -> None:
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    url = f"{HTSGET}/reads/{source_id(cram)}"
    ready(token, f"{url}?format=CRAM")

    body = _client(token).get(url, {"format": "CRAM", "referenceName": "chr2"}).json()

    urls = body["htsget"]["urls"]
    assert body["htsget"]["format"] == "CRAM"
    assert {u["url"] for u in urls} == {urls[0]["url"]}
    assert "/access/download/" in urls[0]["url"]
    assert urls[0]["url"].endswith("/S000.cram")
    assert [u["class"] for u in urls] == ["header", "body"]
    size = cram.size
    first, last = urls[-1]["headers"]["Range"].removeprefix("bytes=").split("-")
    assert int(last) == size - 1  # chr2 is the file's last reference: through the EOF
    assert urls[0]["headers"]["Range"].startswith("bytes=0-")
    header = _client(token).get(url, {"format": "CRAM", "class": "header"}).json()
    assert [u["class"] for u in header["htsget"]["urls"]] == ["header"]
    assert header["htsget"]["urls"][0]["headers"] == urls[0]["headers"]
    assert int(first) > int(urls[0]["headers"]["Range"].split("-")[1])


def test_a_cram_is_not_served_as_bam(
    delivery_world: World, researcher: User, cram: DataFile
) -> None:
    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)

    response = _client(token).get(f"{HTSGET}/reads/{source_id(cram)}")

    assert response.status_code == 400
    assert response.json()["htsget"] == {
        "error": "UnsupportedFormat",
        "message": (
            f"{source_id(cram)} is a CRAM file, served as CRAM: ask for format=CRAM (turning "
            "one into the other needs the reference sequence the reads were aligned to, which "
            "this portal does not keep)."
        ),
    }


def test_a_withdrawal_ends_the_ranges(
    delivery_world: World, researcher: User, cram: DataFile, live_server: Any
) -> None:
    import urllib.error
    import urllib.request

    token = api_token_for(researcher, ApiTokenScope.DOWNLOAD)
    url = f"{HTSGET}/reads/{source_id(cram)}"
    ready(token, f"{url}?format=CRAM")
    first = _client(token).get(url, {"format": "CRAM"}).json()["htsget"]["urls"][0]
    link = first["url"].replace("http://testserver", live_server.url)
    with urllib.request.urlopen(  # noqa: S310 - the live server
        urllib.request.Request(link, headers=first["headers"])  # noqa: S310
    ) as answer:
        assert answer.status == 206
        assert answer.read(4) == b"CRAM"

    withdraw(delivery_world.cohort.consenting[0])

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(link, headers=first["headers"]))  # noqa: S310
    assert refused.value.code == 410
