"""A download already streaming stops when its link stops being valid: the participant
withdraws, or the grant is revoked, while a slow client is reading. The client gets fewer
bytes than Content-Length announced, soon after the change commits, and the next request
on the same URL answers 410.

The server is gunicorn with gthread workers, as `make run` starts it, in its own process on
the test database; a data file of 96 MiB of random bytes is delivered to the researcher.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from access.models import SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request, grants_revoke
from access.views.deliveries import DownloadCutOff
from portal.models import User
from tests.access.delivery_support import World, add_file, withdraw
from tests.conftest import ROOT, _database_url

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = 96 * 1024 * 1024
PIECE = 64 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("big") / "S000.bam"
    with source.open("wb") as handle:
        for _ in range(SIZE // (8 * 1024 * 1024)):
            handle.write(os.urandom(8 * 1024 * 1024))
    return source


@dataclass
class Big:
    url: str
    sha256: str


@pytest.fixture
def big_link(delivery_world: World, researcher: User, steward: User, big_source: Path) -> Big:
    datafile = add_file(
        delivery_world.cohort.dataset,
        steward,
        delivery_world.root,
        big_source,
        "reads/big-S000.bam",
        ["S000"],
    )
    delivery = delivery_request(
        actor=researcher, grant=delivery_world.grant, datafile_ids=[datafile.pk]
    )
    link = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    return Big(url=link_url(link), sha256=datafile.sha256)


@pytest.fixture
def gunicorn(delivery_world: World) -> Iterator[str]:
    """gunicorn (gthread) on a free port, on the test database and the test's data root."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "1",
        "CUSTODIAN_DATA_ROOT": str(delivery_world.root),
        "CUSTODIAN_DOWNLOAD_MODE": "portal",
    }
    env.pop("DATABASE_TEST_NAME", None)
    log = delivery_world.root.parent / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start:\n" + log.read_text()[-3000:])
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


@dataclass
class Read:
    status: str
    content_length: int
    received: int
    ended_after_change: float | None
    sha256: str


def _slow_get(
    url: str, *, change: Any = None, change_after: int = 8 * 1024 * 1024, pause: float = 0.004
) -> Read:
    """GET over a raw socket, reading PIECE bytes at a time with a pause (about 16 MB/s);
    `change` runs once change_after bytes have arrived. A small receive buffer keeps what the
    kernel holds for the client small."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    sock.settimeout(30)
    sock.connect((parts.hostname, parts.port))
    sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(PIECE)
        assert data, head
        head += data
    header_block, body = head.split(b"\r\n\r\n", 1)
    lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    digest = hashlib.sha256(body)
    received, changed_at = len(body), None
    while received < length:
        if change is not None and changed_at is None and received >= change_after:
            change()
            changed_at = time.monotonic()
        try:
            data = sock.recv(PIECE)
        except ConnectionResetError:  # the server dropped what it still held for us
            break
        if not data:
            break
        digest.update(data)
        received += len(data)
        time.sleep(pause)
    ended = time.monotonic()
    sock.close()
    return Read(
        status=lines[0],
        content_length=length,
        received=received,
        ended_after_change=None if changed_at is None else ended - changed_at,
        sha256=digest.hexdigest(),
    )


def test_a_download_reads_whole_through_gunicorn_when_nothing_changes(
    big_link: Big, gunicorn: str
) -> None:
    read = _slow_get(gunicorn + big_link.url, pause=0)

    assert read.status == "HTTP/1.1 200 OK"
    assert (read.content_length, read.received) == (SIZE, SIZE)
    assert read.sha256 == big_link.sha256


def test_a_withdrawal_cuts_off_a_download_under_way(
    delivery_world: World, big_link: Big, gunicorn: str
) -> None:
    participant = delivery_world.cohort.consenting[0]  # S000's participant

    read = _slow_get(gunicorn + big_link.url, change=lambda: withdraw(participant))

    assert read.status == "HTTP/1.1 200 OK"
    assert read.content_length == SIZE
    assert 8 * 1024 * 1024 <= read.received < SIZE
    # Within about a second of the commit; the bound is generous for a busy machine.
    assert read.ended_after_change is not None
    assert read.ended_after_change < 5
    again = _slow_get(gunicorn + big_link.url, pause=0)
    assert again.status == "HTTP/1.1 410 Gone"


def test_a_slow_client_is_cut_off_as_soon(
    delivery_world: World, big_link: Big, gunicorn: str
) -> None:
    """About 1 MB/s: what the server already queued for the client is dropped too."""
    participant = delivery_world.cohort.consenting[0]

    read = _slow_get(
        gunicorn + big_link.url,
        change=lambda: withdraw(participant),
        change_after=2 * 1024 * 1024,
        pause=0.06,
    )

    assert read.received < 16 * 1024 * 1024
    assert read.ended_after_change is not None
    assert read.ended_after_change < 5


def test_a_revoked_grant_cuts_off_a_download_under_way(
    delivery_world: World, big_link: Big, gunicorn: str, dac_chair: User
) -> None:
    def revoke() -> None:
        grants_revoke(
            actor=dac_chair,
            request=delivery_world.request,
            committee=delivery_world.grant.review.committee,
            reason="Breach of the agreement.",
        )

    read = _slow_get(gunicorn + big_link.url, change=revoke)

    assert read.content_length == SIZE
    assert 8 * 1024 * 1024 <= read.received < SIZE
    assert read.ended_after_change is not None
    assert read.ended_after_change < 5
    again = _slow_get(gunicorn + big_link.url, pause=0)
    assert again.status == "HTTP/1.1 410 Gone"


def test_a_range_read_through_gunicorn_gives_exactly_those_bytes(
    big_link: Big, big_source: Path, gunicorn: str
) -> None:
    parts = urlsplit(gunicorn + big_link.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Range: bytes=1000000-1065535\r\nConnection: close\r\n\r\n".encode()
        )
        raw = b""
        while data := sock.recv(PIECE):
            raw += data
    head, body = raw.split(b"\r\n\r\n", 1)

    assert head.startswith(b"HTTP/1.1 206 Partial Content")
    assert f"Content-Range: bytes 1000000-1065535/{SIZE}".encode() in head
    with big_source.open("rb") as handle:
        handle.seek(1_000_000)
        assert body == handle.read(65536)


def test_without_gunicorn_the_stream_raises_so_the_server_closes_the_connection(
    delivery_world: World, big_link: Big
) -> None:
    """Other WSGI servers get the bytes yielded; a cut-off raises after the headers, which
    makes a WSGI server drop the connection."""
    response = Client().get(big_link.url)
    stream = iter(response.streaming_content)
    received = [len(next(stream))]

    withdraw(delivery_world.cohort.consenting[0])
    time.sleep(0.6)  # past the re-check interval

    with pytest.raises(DownloadCutOff):
        received.extend(len(piece) for piece in stream)
    assert sum(received) < SIZE
