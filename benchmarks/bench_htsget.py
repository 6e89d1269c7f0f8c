"""GA4GH htsget: ticket latency against a trivial view, and slicing throughput against
`samtools view -b` on the local file.

Tickets: the demo data of `seed_demo` on a PostgreSQL database of its own (production
settings: DEBUG off), a personal API token of the holder of the demo's active grant, one of
that grant's BAMs or VCFs (the demo grant's is the cohort VCF, a consent-filtered copy)
prepared once through htsget itself (503 while the delivery is prepared
in-process, then 200). gunicorn (2 sync workers) on 127.0.0.1 is loaded by wrk (16
connections) with `GET /ga4gh/htsget/v1/{reads|variants}/{id}?referenceName=chr1&start=0&end=10000`
(every request authenticated; grant, consent and link checked; the reference checked against
the file's header, read once per link) and the trivial view `/healthz` as the reference.
Slicing: the slicing endpoint's own code (`slice_file`: `pysam.samtools.view -b` in-process
for a BAM region) on a synthetic BAM of 400,000 reads, against `samtools view -b` of the same region of
the same file (the byte-range alternative would cost about what serving those bytes costs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import bench_drs  # noqa: E402 - sets the environment (its own database, DEBUG off)
from bench_drs import QUICK, WRK_CONNECTIONS, WRK_DURATION, free_port, loadavg, log, psql, wait_up  # noqa: E402

READS_PER_CONTIG = 50_000 if QUICK else 200_000
REGION = ("chr1", 1_000_000, 3_000_000)


def setup() -> tuple[str, str]:
    """The demo data, a token, and one BAM or VCF prepared through htsget: (ticket path,
    token)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from access.models import Grant
    from datasets.models import DataFileFormat, FileStatus

    call_command("migrate", verbosity=0)
    if not (Path(os.environ["STATIC_ROOT"]) / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    today = timezone.localdate()
    grants = Grant.objects.filter(revoked_at=None, starts_on__lte=today, ends_on__gte=today)
    client = Client()
    for grant in grants.select_related("dataset", "grantee").order_by("pk"):
        token = bench_drs._token(grant.grantee)
        auth = {"Authorization": f"Bearer {token}"}
        files = grant.dataset.files.filter(
            status=FileStatus.VALID,
            index_of=None,
            format__in=[DataFileFormat.BAM, DataFileFormat.VCF_GZ],
        )
        for datafile in files.order_by("pk"):
            endpoint = "reads" if datafile.format == DataFileFormat.BAM else "variants"
            path = (
                f"/ga4gh/htsget/v1/{endpoint}/{grant.dataset.accession}-{datafile.pk}"
                "?referenceName=chr1&start=0&end=10000"
            )
            first = client.get(path, headers=auth)
            ready = client.get(path, headers=auth)
            if ready.status_code == 200:
                log(f"{path} ready: {first.status_code}, then 200")
                connections.close_all()
                return path, token
            log(f"{path}: {first.status_code}, then {ready.status_code} {ready.content[:300]!r}")
    raise SystemExit("no BAM or VCF of an active grant could be prepared through htsget")


def _best(seconds: list[float]) -> float:
    return min(seconds)


def slicing() -> tuple[float, float, int]:
    """(seconds of slice_file, seconds of samtools view -b, records) for REGION, best of 3."""
    import pysam

    from access.selectors.deliveries import Servable
    from access.selectors.htsget import READS, Region, slice_file
    from datasets import synthetic

    folder = Path(tempfile.mkdtemp(prefix="bench-htsget-"))
    bam = synthetic.write_bam(
        folder / "big.bam",
        sample="S000",
        contigs=(("chr1", 20_000_000), ("chr2", 10_000_000)),
        reads_per_contig=READS_PER_CONTIG,
    )
    served = Servable(path=bam, name="big.bam", size=bam.stat().st_size, sha256="")
    name, start, end = REGION
    ours, theirs = [], []
    records = 0
    for _ in range(3):
        began = time.perf_counter()
        out = slice_file(READS, served, False, [Region(name, start, end)])
        ours.append(time.perf_counter() - began)
        with pysam.AlignmentFile(str(out)) as handle:
            records = sum(1 for _ in handle.fetch(until_eof=True))
        out.unlink()
        began = time.perf_counter()
        subprocess.run(
            ["samtools", "view", "-b", "-o", str(folder / "s.bam"), str(bam),
             f"{name}:{start + 1}-{end}"],
            check=True,
        )  # fmt: skip
        theirs.append(time.perf_counter() - began)
    subprocess.run(["rm", "-rf", str(folder)], check=False)
    return _best(ours), _best(theirs), records


def main() -> None:
    load_start = loadavg()
    psql(f"CREATE DATABASE {bench_drs.DB_NAME}")
    server = None
    try:
        ticket_path, token = setup()
        ours, theirs, records = slicing()
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--log-level", "warning"],
            cwd=ROOT,
            env=os.environ.copy(),
        )  # fmt: skip
        wait_up(port, "/healthz")
        base = f"http://127.0.0.1:{port}"
        bearer = f"Authorization: Bearer {token}"
        pages = [
            ("trivial view `/healthz` (reference)", base + "/healthz", ()),
            (f"htsget ticket `{ticket_path.split('/v1')[1]}`", base + ticket_path, (bearer,)),
        ]
        results: dict[str, tuple[float, float]] = {}
        for _ in range(2):
            for label, url, headers in pages:
                bench_drs.wrk(url, *headers)  # warm-up
                rps, p99 = bench_drs.wrk(url, *headers)
                best = results.get(label)
                if best is None or rps > best[0]:
                    results[label] = (rps, p99)
        load_end = loadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        psql(f"DROP DATABASE IF EXISTS {bench_drs.DB_NAME} WITH (FORCE)")
        subprocess.run(["rm", "-rf", str(bench_drs.TMP)], check=False)
    reference = results[pages[0][0]][0]
    print("## htsget: ticket latency and slicing throughput\n")
    print(__doc__.strip().split("\n\n", 1)[1].replace("\n", " ") + "\n")
    print(
        f"wrk {WRK_CONNECTIONS} connections, {WRK_DURATION} per measurement, the better of two "
        f"interleaved rounds. Load average {load_start} at the start, {load_end} at the end (2 "
        "cores shared with other people's work and with wrk).\n"
    )
    print("| request | requests/s | p99 ms | ratio to trivial view |")
    print("|---|---:|---:|---:|")
    for label, _, _ in pages:
        rps, p99 = results[label]
        print(f"| {label} | {rps:,.0f} | {p99:.1f} | {rps / reference:.2f} |")
    name, start, end = REGION
    print(
        f"\nSlicing {name}:{start}-{end} ({records:,} reads) of a {2 * READS_PER_CONTIG:,}-read "
        f"BAM, best of 3: slice_file {ours * 1000:.0f} ms ({records / ours:,.0f} reads/s), "
        f"`samtools view -b` {theirs * 1000:.0f} ms ({records / theirs:,.0f} reads/s); "
        f"slice_file takes {ours / theirs:.2f}x samtools' time."
    )


if __name__ == "__main__":
    main()
