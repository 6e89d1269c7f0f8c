"""`make run` as an operator meets it: the banner printed last, the demo's emails in a file,
and Ctrl-C (SIGINT to its process group, as a terminal sends it) stopping every server.

One real run on the embedded database and broker, in a folder of its own (VAR), so it needs
no server and leaves nothing in the work tree. How fast it stops is measured in
benchmarks/bench_startup.py; here "stopped" only has a generous upper wait.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The test session's own settings must not leak into the demo (it uses SQLite and the
# filesystem broker under its VAR folder).
NOT_INHERITED = {
    "DEBUG",
    "DATABASE_URL",
    "DATABASE_TEST_NAME",
    "CELERY_BROKER_URL",
    "CUSTODIAN_CELERY_QUEUE",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}
BANNER_WAIT = 900  # a first start migrates and seeds a fresh database on a loaded machine
STOP_WAIT = 60


def _free_port_pair() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def _processes_of(var: Path) -> list[str]:
    """Every process that runs with this demo's folder (each server inherits the variable)."""
    marker = f"CUSTODIAN_VAR_DIR={var}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, int, Path]]:
    var = tmp_path / "var"
    port = _free_port_pair()
    log = tmp_path / "make-run.log"
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    with log.open("w") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"VAR={var}", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, as a terminal's foreground job has.
            start_new_session=True,
        )
    yield make, var, port, log
    # Whatever is left here, the test has already failed on: end it for the next run.
    if make.poll() is None:
        os.killpg(make.pid, signal.SIGKILL)
    marker = f"CUSTODIAN_VAR_DIR={var}".encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                continue


def _wait_for(log: Path, text: str, make: subprocess.Popen[str], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        output = log.read_text(errors="replace") if log.exists() else ""
        if text in output:
            return output
        if make.poll() is not None:
            pytest.fail(f"make run exited ({make.returncode}) before {text!r}:\n{output[-3000:]}")
        time.sleep(1)
    pytest.fail(f"no {text!r} in {log.name} within {seconds} s")


@pytest.mark.worker
def test_make_run_prints_the_banner_last_and_ctrl_c_stops_everything(
    demo: tuple[subprocess.Popen[str], Path, int, Path],
) -> None:
    make, var, port, log = demo

    output = _wait_for(log, "Ctrl-C stops it.", make, BANNER_WAIT)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
        assert page.status == 200
    time.sleep(3)  # anything printed after the banner would show now

    after_banner = log.read_text(errors="replace")
    lines = [line.strip() for line in after_banner.splitlines() if line.strip()]
    assert lines[-2:] == [
        f"Custodian is running at http://127.0.0.1:{port}/  (downloads at "
        f"http://127.0.0.1:{port + 1}/)",
        "Ctrl-C stops it.",
    ]
    assert f"Demo emails:   {var}/demo-mail.txt" in output
    assert "Demo sign-ins (password for all: custodian-demo):" in lines
    assert "Data steward   steward@demo.custodian.test" in lines
    assert "No hostname was supplied" not in output
    # The guardians' invitations went to the file, through the worker, not to the console.
    mail = _wait_for(var / "demo-mail.txt", "Subject:", make, 120)
    assert "@demo.custodian.test" in mail
    assert "Subject:" not in log.read_text(errors="replace")

    os.killpg(make.pid, signal.SIGINT)
    make.wait(timeout=STOP_WAIT)

    output = log.read_text(errors="replace")
    assert "Custodian stopped" in output
    assert not re.search(r"Segmentation fault|core dumped|Traceback", output)
    # A server's crash shows in its own log: gunicorn's "was sent SIGSEGV", Celery's
    # "exited with 'signal 11 (SIGSEGV)'".
    for server_log in (var / "log").glob("*.log"):
        assert "SIGSEGV" not in server_log.read_text(errors="replace"), server_log.name
    assert _processes_of(var) == []
