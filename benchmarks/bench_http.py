"""Requests/s and latency of the landing page and the API root vs a trivial JSON view.

gunicorn (2 sync workers, production settings, SQLite in a temporary folder) on 127.0.0.1,
loaded by wrk at 16 and 64 connections. The trivial view (/healthz) is the reference: the
ratio says what the page itself costs on top of Django and gunicorn.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = bool(os.environ.get("BENCH_QUICK"))
DURATION = "3s" if QUICK else "10s"
PAGES = [("trivial JSON view", "/healthz"), ("landing page", "/"), ("API root", "/api/v1/")]
CONNECTIONS = [16, 64]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrk(url: str, connections: int) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{DURATION}", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses: \d+", out):
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, _latency_ms(out, "50%"), _latency_ms(out, "99%")


def _latency_ms(out: str, pct: str) -> float:
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "SECURE_SSL_REDIRECT": "0",
            "CUSTODIAN_VAR_DIR": tmp,
            "STATIC_ROOT": str(Path(tmp) / "static"),
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        for var in ("DATABASE_URL", "CELERY_BROKER_URL"):
            env.pop(var, None)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.1)
            results = {}
            for connections in CONNECTIONS:
                for _, path in PAGES:
                    wrk(base + path, connections)  # warm-up
                    results[(path, connections)] = wrk(base + path, connections)
        finally:
            server.terminate()
            server.wait(10)
    print("## HTTP: landing page and API root vs a trivial view\n")
    print(__doc__.strip().split("\n\n", 1)[1].replace("\n", " ") + "\n")
    print("| page | connections | requests/s | p50 ms | p99 ms | ratio to trivial view |")
    print("|---|---:|---:|---:|---:|---:|")
    for connections in CONNECTIONS:
        reference = results[("/healthz", connections)][0]
        for label, path in PAGES:
            rps, p50, p99 = results[(path, connections)]
            print(
                f"| {label} `{path}` | {connections} | {rps:,.0f} | {p50:.1f} | {p99:.1f} "
                f"| {rps / reference:.2f} |"
            )
    ref16 = results[("/healthz", 16)][0]
    print(
        f"\nThe machine's reference for a Django JSON view under 2 sync gunicorn workers is about "
        f"4,700 requests/s (STACK.md); this run's trivial view reached {ref16:,.0f} "
        f"({ref16 / 4700:.0%} of it), with wrk sharing the 2 cores."
    )


if __name__ == "__main__":
    main()
