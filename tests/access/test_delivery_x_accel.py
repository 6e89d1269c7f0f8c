"""CUSTODIAN_DOWNLOAD_MODE=x-accel: the portal checks each request on a signed link, then
answers with X-Accel-Redirect and no body, and nginx serves the bytes (Range included) from
its internal location. A real nginx (its own configuration, a free port, `daemon off`,
never the system's) proxies to Django's live server, as docs/nginx-custodian.conf does."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from access.models import SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request
from portal.models import User
from tests.access.delivery_support import World, withdraw

NGINX = "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="needs Debian's nginx-light"),
]

CONFIG = """
daemon off;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        location /_custodian_data/ {{
            internal;
            alias {root}/;
        }}
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def nginx(live_server: Any, delivery_world: World, settings: Any, tmp_path: Path) -> Iterator[int]:
    settings.CUSTODIAN_DOWNLOAD_MODE = "x-accel"
    settings.CUSTODIAN_X_ACCEL_PREFIX = "/_custodian_data"
    folder = tmp_path / "nginx"
    folder.mkdir()
    port = _free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        CONFIG.format(
            # Started as root, nginx's workers would otherwise be `nobody`, who cannot read
            # pytest's private temporary folders.
            user="user root;" if os.geteuid() == 0 else "",
            tmp=folder,
            port=port,
            root=delivery_world.root,
            upstream=urlsplit(live_server.url).port,
        )
    )
    process = subprocess.Popen(  # noqa: S603 - a fixed binary on our own configuration
        [NGINX, "-c", str(conf), "-p", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    errors = folder / "error.log"
                    pytest.fail(
                        "nginx did not start: " + (errors.read_text() if errors.exists() else "")
                    )
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def bam_url(delivery_world: World, researcher: User) -> str:
    delivery = delivery_request(
        actor=researcher, grant=delivery_world.grant, datafile_ids=[delivery_world.bam_s000.pk]
    )
    link = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    return link_url(link)


def test_nginx_serves_the_whole_file_and_a_range_after_the_portal_checked_the_link(
    delivery_world: World, bam_url: str, nginx: int
) -> None:
    source = (delivery_world.root / "reads/S000.bam").read_bytes()

    status, headers, body = _get(nginx, bam_url)
    ranged_status, ranged_headers, ranged = _get(nginx, bam_url, Range="bytes=100-1123")

    assert status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(source).hexdigest()
    assert headers["Content-Disposition"] == 'attachment; filename="S000.bam"'
    assert headers["Cache-Control"] == "private, no-store"
    assert ranged_status == 206
    assert ranged == source[100:1124]
    assert ranged_headers["Content-Range"] == f"bytes 100-1123/{len(source)}"


def test_the_portal_alone_answers_with_the_redirect_and_no_body(
    bam_url: str, live_server: Any, nginx: int
) -> None:
    status, headers, body = _get(urlsplit(live_server.url).port, bam_url)

    assert status == 200
    assert headers["X-Accel-Redirect"] == "/_custodian_data/reads/S000.bam"
    assert body == b""


def test_a_tampered_link_is_refused_through_nginx(bam_url: str, nginx: int) -> None:
    prefix, token, name = bam_url.rsplit("/", 2)
    tampered = f"{prefix}/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}/{name}"

    status, headers, body = _get(nginx, tampered)

    assert status == 403
    assert "X-Accel-Redirect" not in headers
    assert body.decode() == "This download link is not valid."


def test_the_internal_location_is_not_reachable_from_outside(nginx: int) -> None:
    status, _, _ = _get(nginx, "/_custodian_data/reads/S000.bam")

    assert status == 404


def test_after_a_withdrawal_nginx_passes_on_the_410(
    delivery_world: World, bam_url: str, nginx: int
) -> None:
    withdraw(delivery_world.cohort.consenting[0])

    status, _, body = _get(nginx, bam_url)

    assert status == 410
    assert body.decode().startswith("Someone whose data this delivery included has since withdrawn")


def test_an_unknown_mode_stops_start_up() -> None:
    """Rather than serving some other way than the one configured."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import portal.settings"],
        env={**os.environ, "CUSTODIAN_DOWNLOAD_MODE": "nginx", "DEBUG": "1"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode != 0
    assert "CUSTODIAN_DOWNLOAD_MODE='nginx' is not 'portal' or 'x-accel'" in done.stderr
