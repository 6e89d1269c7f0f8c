"""Link issuance end to end: the researcher's button to the delivery being ready.

A database of its own (migrated), a Celery worker process of its own (solo pool, a queue of
its own on Redis), a data root of its own holding two files of an approved grant generated
with pysam: a multi-sample VCF.gz whose consent-filtered copy is already cached (one
warm-up delivery builds it; the timed ones find it) and a single-sample BAM, each with its
index, so every delivery issues four audited links.

Timed, N times: the researcher's POST of "Ask for download links" through Django's test
client (the view, `delivery_request`'s transaction and audit entry, the task queued on
commit), then the delivery read every 2 ms until it is READY (the worker: the consent
checks, the cached copy found and checksummed, participants recorded, links issued and
audited, the notice). Reference in the same run, through the same worker: the round trip of
`portal.tasks.health_check_task` (sent, run, its result read from the same database every
2 ms), so the ratio is the portal's own cost over the bare queue round trip.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

QUICK = bool(os.environ.get("BENCH_QUICK"))
RUNS = 30 if QUICK else 200
CONSENTING, REFUSING = 50, 10
VARIANTS_PER_CONTIG = 200 if QUICK else 2_000
POLL_SECONDS = 0.002
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
DB_NAME = f"custodian_bench_issuance_{os.getpid()}"
QUEUE = f"bench-issuance-{os.getpid()}"
WORK = Path(tempfile.mkdtemp(prefix="bench-issuance-", dir=os.environ.get("BENCH_TMPDIR")))
ENV = {
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "CELERY_BROKER_URL": REDIS,
    "CUSTODIAN_CELERY_QUEUE": QUEUE,
    "CUSTODIAN_DATA_ROOT": str(WORK / "data-root"),
    "CUSTODIAN_VAR_DIR": str(WORK / "var"),
    "CUSTODIAN_STORAGE": "portal",
    # Production settings: DEBUG would keep every query in memory in the worker.
    "DEBUG": "0",
    "SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "SECURE_SSL_REDIRECT": "0",
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "STATIC_ROOT": str(WORK / "static"),
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
}
os.environ.update(ENV)
os.environ.pop("DATABASE_TEST_NAME", None)

_STARTED = time.perf_counter()


def log(step: str) -> None:
    """Progress on stderr (run.py keeps stdout for the Markdown section)."""
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {step}", file=sys.stderr, flush=True)


def psql(sql: str) -> None:
    subprocess.run(["psql", "-q", f"{PG}/postgres", "-c", sql], check=True, capture_output=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- the world ----------------------------------------------------------------------------------


def approved_world(
    consenting: int, refusing: int, names: list[str] | None = None
) -> dict[str, Any]:
    """An approved request with an active grant on a released dataset whose samples (`names`,
    else S000...) belong to `consenting` participants who consent and then `refusing` who
    refuse research use, made through the services as the tests do."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers

    from access.models import Grant
    from access.services import access_request_submit, agreement_publish, agreements_accept
    from consent.services import consent_version_publish
    from portal.celery import app as celery_app
    from portal.models import Role
    from tests.access.conftest import (
        AGREEMENT_TEXT,
        approve_by_votes,
        complete_draft,
        link_sample,
        participant_with,
        released_dataset,
    )
    from tests.consent.conftest import ALL_YES, make_version
    from tests.factories import CommitteeFactory, UserFactory

    # Set-up tasks (the review start) run in this process; the timed ones go to the worker.
    celery_app.conf.task_always_eager = True
    # Nobody signs in with a password here (the client is force_login'ed): a fast hasher
    # makes the set-up's accounts in milliseconds instead of PBKDF2's half second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    steward = UserFactory(email="steward@bench.test", full_name="Bench Steward", role=Role.STEWARD)
    chair = UserFactory(email="chair@bench.test", full_name="Bench Chair", role=Role.DAC_CHAIR)
    member = UserFactory(email="member@bench.test", full_name="Bench Member", role=Role.DAC_MEMBER)
    researcher = UserFactory(
        email="researcher@bench.test", full_name="Bench Researcher", role=Role.RESEARCHER
    )
    dac = CommitteeFactory(name="Test DAC")
    dac.chairs.add(chair)
    dac.members.add(chair, member)
    version = consent_version_publish(actor=steward, version=make_version(steward))
    dataset = released_dataset(steward, dac)
    refusal = {**ALL_YES, "general": "no", "health": "no"}
    samples = names or [f"S{n:03d}" for n in range(consenting + refusing)]
    for n, sample in enumerate(samples):
        person = participant_with(version, ALL_YES if n < consenting else refusal)
        link_sample(dataset, person, sample)
    agreement_publish(actor=steward, committee=dac, text=AGREEMENT_TEXT)
    request = complete_draft(researcher, dataset)
    agreements_accept(actor=researcher, request=request)
    access_request_submit(actor=researcher, request=request)
    request.refresh_from_db()
    approve_by_votes(request, chair, member)
    celery_app.conf.task_always_eager = False
    return {
        "researcher": researcher,
        "steward": steward,
        "dataset": dataset,
        "samples": samples,
        "grant": Grant.objects.get(request=request, grantee=researcher),
    }


def build_world() -> dict[str, Any]:
    """The approved grant, and its two files: the VCF.gz of every sample and a BAM."""
    from datasets import synthetic
    from tests.access.delivery_support import add_file

    world = approved_world(CONSENTING, REFUSING)
    dataset, steward, samples = world["dataset"], world["steward"], world["samples"]
    sources = WORK / "sources"
    sources.mkdir()
    root = Path(ENV["CUSTODIAN_DATA_ROOT"])
    root.mkdir(parents=True)
    Path(ENV["STATIC_ROOT"]).mkdir()
    vcf = synthetic.write_vcf_gz(
        sources / "cohort.vcf.gz", samples=samples, variants_per_contig=VARIANTS_PER_CONTIG
    )
    bam = synthetic.write_bam(sources / "S000.bam", sample="S000", reads_per_contig=2_000)
    add_file(dataset, steward, root, vcf, "calls/cohort.vcf.gz", samples)
    add_file(dataset, steward, root, bam, "reads/S000.bam", ["S000"])
    return {**world, "vcf_bytes": (root / "calls/cohort.vcf.gz").stat().st_size}


# --- the worker ---------------------------------------------------------------------------------


def start_worker(node: str = "") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            QUEUE,
            "-n",
            f"{node or QUEUE}@%h",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    ready = threading.Event()
    tail: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            tail[:] = [*tail[-40:], line]
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90):
        process.kill()
        raise RuntimeError("the Celery worker did not start:\n" + "".join(tail))
    return process


def stop_worker(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


# --- the measurements ---------------------------------------------------------------------------


def wait_until(predicate: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting")
        time.sleep(POLL_SECONDS)


def issue_once(client: Any, grant_id: int, posts: list[float] | None = None) -> float:
    from access.models import Delivery, DeliveryStatus

    start = time.perf_counter()
    response = client.post(f"/access/grants/{grant_id}/deliveries/")
    if posts is not None:
        posts.append(time.perf_counter() - start)
    if response.status_code != 302:
        raise RuntimeError(f"the button answered {response.status_code}")
    delivery_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    ready = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.READY)
    wait_until(ready.exists)
    elapsed = time.perf_counter() - start
    delivery = Delivery.objects.get(pk=delivery_id)
    if delivery.files.count() != 4:
        raise RuntimeError(f"delivery {delivery_id} issued {delivery.files.count()} files")
    return elapsed


def ping_once() -> float:
    from portal.tasks import health_check_task

    start = time.perf_counter()
    result = health_check_task.delay().get(timeout=60, interval=POLL_SECONDS)
    elapsed = time.perf_counter() - start
    if not result["database"]:
        raise RuntimeError("the health check failed")
    return elapsed


def main() -> None:
    psql(f'CREATE DATABASE "{DB_NAME}"')
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        log("migrating")
        call_command("migrate", verbosity=0)
        log("building the world")
        world = build_world()
        load_before = os.getloadavg()
        log("starting the worker")
        worker = start_worker()
        client = Client()
        client.force_login(world["researcher"])
        grant_id = world["grant"].pk

        log("warm-up: the first delivery builds the consent-filtered copy")
        build_seconds = issue_once(client, grant_id)
        for _ in range(5):
            issue_once(client, grant_id)
            ping_once()

        log(f"timing {RUNS} deliveries and {RUNS} pings, interleaved")
        issuance: list[float] = []
        posts: list[float] = []
        pings: list[float] = []
        for _ in range(RUNS):
            issuance.append(issue_once(client, grant_id, posts))
            pings.append(ping_once())
        load_after = os.getloadavg()
        connection.close()
    finally:
        if worker is not None:
            stop_worker(worker)
        from django.db import connections

        connections.close_all()
        psql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        shutil.rmtree(WORK, ignore_errors=True)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    p50, p99 = statistics.median(issuance), percentile(issuance, 99)
    r50, r99 = statistics.median(pings), percentile(pings, 99)
    post50, post99 = statistics.median(posts), percentile(posts, 99)
    print(
        f"""## Link issuance end to end (Celery worker over Redis)

The researcher's POST of "Ask for download links" (Django's test client, production settings) until the delivery is READY{" (quick mode)" if QUICK else ""}: a real Celery worker process (solo pool, a queue of its own on Redis) on PostgreSQL (a database of its own), the delivery read every 2 ms. Each delivery issues four audited links: a {CONSENTING + REFUSING}-sample VCF.gz ({world["vcf_bytes"] / 1024:.0f} KiB, {REFUSING} samples refusing) whose consent-filtered copy is already cached, and a BAM, each with its index. Reference in the same run, through the same worker: a `portal.tasks.health_check_task` round trip, its result read from the same database every 2 ms. {RUNS} deliveries and {RUNS} round trips, interleaved, after 5 warm-ups; the first delivery, which built the filtered copy, took {ms(build_seconds)}.

| | p50 | p99 |
|---|---|---|
| issuance: button → READY | {ms(p50)} | {ms(p99)} |
| of which the POST (view, transaction, audit, task sent) | {ms(post50)} | {ms(post99)} |
| reference: trivial task round trip | {ms(r50)} | {ms(r99)} |
| ratio | {p50 / r50:.1f}× | {p99 / r99:.1f}× |

Load average (1 min) {load_before[0]:.2f} before and {load_after[0]:.2f} after, on 2 cores shared with other people's work: absolute figures are noisy; the ratio, measured interleaved, less so."""  # noqa: E501
    )


if __name__ == "__main__":
    main()
