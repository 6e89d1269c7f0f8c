"""GA4GH DRS: access requests for an already-prepared file against a trivial view.

The demo data of `seed_demo` on a PostgreSQL database of its own (production settings:
DEBUG off), a personal API token of the holder of the demo's active grant, and a file of
that grant's dataset prepared once through DRS itself (202, the delivery prepared in-process,
then 200). Then gunicorn on 127.0.0.1, with 2 sync workers and then as `make run` runs the
pages (2 workers x 8 threads), is loaded by wrk (16 connections): `GET /ga4gh/drs/v1/objects/{id}/access/https` with the bearer token (every request
authenticated, the caller's grant, consent and link checked while nothing was audited), the
DrsObject `GET /objects/{id}`, and the trivial view `/healthz` on the same server as the
reference. The sealer is run as beat runs it, so the cache version (`state_version`) is
settled. A DRS request with a token and no session passes through the stateless chain
(`portal/stateless.py`); `/healthz` still passes through the whole one, as a page does.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

QUICK = bool(os.environ.get("BENCH_QUICK"))
WRK_DURATION = "3s" if QUICK else "10s"
WRK_CONNECTIONS = 16
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_NAME = f"custodian_bench_drs_{os.getpid()}"
TMP = Path(tempfile.mkdtemp(prefix="bench-drs-"))
os.environ.update(
    DATABASE_URL=f"{PG}/{DB_NAME}",
    DEBUG="0",
    SECRET_KEY="benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",  # noqa: S106
    SECURE_SSL_REDIRECT="0",
    ALLOWED_HOSTS="127.0.0.1,testserver",
    CUSTODIAN_VAR_DIR=str(TMP),
    STATIC_ROOT=os.environ.get("BENCH_STATIC_ROOT") or str(TMP / "static"),
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    CELERY_TASK_ALWAYS_EAGER="1",
    CUSTODIAN_REQUIRE_OTP="0",
    LOG_LEVEL="WARNING",
    DJANGO_SETTINGS_MODULE="portal.settings",
)
for _name in ("DATABASE_TEST_NAME", "CELERY_BROKER_URL"):
    os.environ.pop(_name, None)


def log(message: str) -> None:
    print(f"[bench_drs] {message}", file=sys.stderr, flush=True)


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", f"{PG}/postgres", "-c", sql], check=True, capture_output=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(port: int, path: str) -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered on port {port}")


def _token(user: object) -> str:
    """A personal API token with the download scope (a DRF token before those existed)."""
    try:
        from tests.factories import api_token_for

        return api_token_for(user, "download")  # type: ignore[arg-type]
    except ImportError:
        from rest_framework.authtoken.models import Token

        return Token.objects.get_or_create(user=user)[0].key


def setup() -> tuple[str, str, str]:
    """The demo data, a token, and one file prepared through DRS: (object id, token, path of
    its access request)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from access.models import Grant
    from datasets.models import INDEX_FORMATS, FileStatus
    from portal.ledger import ledger_seal

    call_command("migrate", verbosity=0)
    if not (Path(os.environ["STATIC_ROOT"]) / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    log("demo data seeded")
    today = timezone.localdate()
    grants = Grant.objects.filter(revoked_at=None, starts_on__lte=today, ends_on__gte=today)
    client = Client()
    for grant in grants.select_related("dataset", "grantee").order_by("pk"):
        token = _token(grant.grantee)
        auth = {"Authorization": f"Bearer {token}"}
        files = grant.dataset.files.filter(status=FileStatus.VALID, index_of=None).exclude(
            format__in=sorted(INDEX_FORMATS)
        )
        for datafile in files.order_by("pk"):
            object_id = f"{grant.dataset.accession}-{datafile.pk}"
            path = f"/ga4gh/drs/v1/objects/{object_id}/access/https"
            first = client.get(path, headers=auth)
            if first.status_code not in (200, 202):
                continue
            ready = client.get(path, headers=auth)
            # The sealer, as beat runs it every few seconds: until it has passed the
            # preparation's audit entries, DRS's cached answers are keyed by the snapshot
            # (portal.audit.state_version), so each request would compute its answer again.
            ledger_seal()
            ledger_seal()
            if ready.status_code == 200:
                log(f"{object_id} ({datafile.path}) prepared: {first.status_code}, then 200")
                connections.close_all()
                return object_id, token, path
    raise SystemExit("no file of an active grant could be prepared through DRS")


def wrk(url: str, *headers: str) -> tuple[float, float, int]:
    """(requests/s, p99 ms, requests served)."""
    command = ["wrk", "-t2", f"-c{WRK_CONNECTIONS}", f"-d{WRK_DURATION}", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: \d+", out):
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], served


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serving_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The gunicorn workers and the PostgreSQL backends serving the benchmark's database:
    the CPU a request costs, whatever else the machine is doing meanwhile."""
    workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    backends = subprocess.run(
        ["psql", "-qAt", f"{PG}/postgres", "-c",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{DB_NAME}'"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [int(p) for p in [*workers, *backends]]


def cpu_ms_per_request(
    server: subprocess.Popen[bytes], url: str, *headers: str
) -> tuple[float, float, float]:
    """wrk's (requests/s, p99 ms) and the serving processes' CPU milliseconds per request."""
    pids = serving_pids(server)
    before = {pid: _cpu_seconds(pid) for pid in pids}
    rps, p99, served = wrk(url, *headers)
    pids = set(pids) | set(serving_pids(server))
    used = sum(_cpu_seconds(pid) - before.get(pid, 0.0) for pid in pids)
    return rps, p99, used * 1000 / served


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# The server configurations measured: gunicorn's 2 sync workers (STACK.md's reference
# figure: a request holds its worker while it waits for PostgreSQL), and the pages pool as
# `make run` starts it (2 workers x 8 threads: one request's wait is another's CPU time).
SERVERS = {
    "2 sync workers": ["--workers", "2"],
    "2 workers x 8 threads (gthread, as `make run`)": [
        "--workers", "2", "--worker-class", "gthread", "--threads", "8",
    ],
}  # fmt: skip


def measure(
    server_args: list[str], pages: list[tuple[str, str, tuple[str, ...]]]
) -> dict[str, tuple[float, float, float]]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
         *server_args, "--log-level", "warning"],
        cwd=ROOT,
        env=os.environ.copy(),
    )  # fmt: skip
    results: dict[str, tuple[float, float, float]] = {}
    try:
        wait_up(port, "/healthz")
        base = f"http://127.0.0.1:{port}"
        # Interleaved rounds, so a change in the machine's load touches every page alike.
        for _ in range(2):
            for label, path, headers in pages:
                wrk(base + path, *headers)  # warm-up
                rps, p99, cpu = cpu_ms_per_request(server, base + path, *headers)
                best = results.get(label)
                if best is None or rps > best[0]:
                    results[label] = (rps, p99, min(cpu, best[2]) if best else cpu)
                elif cpu < best[2]:
                    results[label] = (*best[:2], cpu)
    finally:
        server.terminate()
        server.wait(30)
    return results


def main() -> None:
    psql(f"CREATE DATABASE {DB_NAME}")
    try:
        object_id, token, access_path = setup()
        load_start = loadavg()
        bearer = f"Authorization: Bearer {token}"
        pages = [
            ("trivial view `/healthz` (reference)", "/healthz", ()),
            ("DRS access `/objects/{id}/access/https`", access_path, (bearer,)),
            ("DRS object `/objects/{id}`", f"/ga4gh/drs/v1/objects/{object_id}", (bearer,)),
        ]
        runs = {name: measure(args, pages) for name, args in SERVERS.items()}
        load_end = loadavg()
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        subprocess.run(["rm", "-rf", str(TMP)], check=False)
    print("## DRS: access requests for a prepared file vs a trivial view\n")
    print(__doc__.strip().split("\n\n", 1)[1].replace("\n", " ") + "\n")
    print(
        f"wrk {WRK_CONNECTIONS} connections, {WRK_DURATION} per measurement, the better of two "
        f"interleaved rounds per server. Load average {load_start} at the start, {load_end} at "
        "the end (2 cores shared with other people's work and with wrk).\n"
    )
    print(
        "| server | request | requests/s | p99 ms | ratio to trivial view | CPU ms per request "
        "(gunicorn + PostgreSQL) | CPU ratio (trivial / this) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    ratios = {}
    for name, results in runs.items():
        reference, _, reference_cpu = results[pages[0][0]]
        for label, _, _ in pages:
            rps, p99, cpu = results[label]
            print(
                f"| {name} | {label} | {rps:,.0f} | {p99:.1f} | {rps / reference:.2f} | "
                f"{cpu:.2f} | {reference_cpu / cpu:.2f} |"
            )
        rps, _, cpu = results[pages[1][0]]
        ratios[name] = (rps / reference, reference_cpu / cpu)
    print(
        "\nTarget: DRS access >= 0.5 of the trivial view; this run: "
        + ", ".join(
            f"{rate:.2f} by requests/s and {cpu:.2f} by CPU per request with {name}"
            for name, (rate, cpu) in ratios.items()
        )
        + ". The CPU ratio counts only the serving processes (gunicorn's workers and their "
        "PostgreSQL backends), so other work on the machine does not move it; requests/s "
        "does move with it."
    )


if __name__ == "__main__":
    main()
