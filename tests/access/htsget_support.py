"""Helpers for the htsget tests: the `htsget` command-line client (PyPI htsget) and a
caller's delivery made ready through the ticket endpoint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from rest_framework.test import APIClient

HTSGET = "/ga4gh/htsget/v1"


def htsget_binary() -> str:
    found = shutil.which("htsget") or str(Path(__file__).resolve().parents[2] / ".venv/bin/htsget")
    if not Path(found).exists():
        pytest.skip("needs the htsget client (pip install htsget)")
    return found


def ready(token: str, url: str) -> None:
    """Ask for a ticket until the caller's delivery is ready: 503 first, then 200."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    first = client.get(url)
    assert first.status_code == 503, first.content
    assert first["Retry-After"] == "5"
    assert first.json()["htsget"]["error"] == "Unavailable"
    second = client.get(url)
    assert second.status_code == 200, second.content


def fetch(url: str, token: str, out: Path, *args: str) -> None:
    done = subprocess.run(
        [htsget_binary(), url, "-b", token, "-O", str(out), "-M", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
