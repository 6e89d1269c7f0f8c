"""The chord across real worker processes over Redis: pieces spread over the workers that
are free, and a worker killed with SIGKILL in the middle of building a copy has its task
redelivered to another worker; the delivery completes once, with one set of links, and no
half-written file is ever served.

Each test has its own queue and its own workers (never the session's worker).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from access.models import AccessRequest, Delivery, DeliveryStatus, Grant, SignedLink
from access.selectors.deliveries import link_url
from access.services import delivery_request
from datasets import synthetic
from portal.celery import app as celery_app
from portal.models import AuditEvent, User
from tests.access.delivery_support import add_file, bcftools_genotypes
from tests.conftest import WorkerProcess, start_celery_worker, stop_celery_worker, wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://"), reason="needs Redis as the broker"
    ),
]

CONSENTING = ["S000", "S001", "S002", "S003", "S004", "S005"]
# Participants S006 and S007 refused research use; U000... are linked to nobody.
SAMPLES = [*CONSENTING, "S006", "S007", *(f"U{n:03d}" for n in range(392))]
CONTIGS = (("chr1", 50_000_000), ("chr2", 50_000_000), ("chr3", 50_000_000))


@pytest.fixture(scope="module")
def big_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 samples by 24,000 variants on three contigs: three pieces of a fraction of a second."""
    folder = tmp_path_factory.mktemp("chord-source")
    return synthetic.write_vcf_gz(
        folder / "cohort.vcf.gz", samples=SAMPLES, contigs=CONTIGS, variants_per_contig=8000
    )


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of the test's own; tasks go to real workers from here on (ask for it after
    the fixtures that set up an approved request, which run their tasks in this process)."""
    name = f"chord-{uuid.uuid4().hex[:10]}"
    before = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False
    yield name
    celery_app.conf.task_default_queue = before


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            stop_celery_worker(worker)


@pytest.fixture
def placed(
    approved_request: AccessRequest, researcher: User, steward: User, big_vcf: Path
) -> Iterator[tuple[Grant, Any]]:
    """The VCF in the data root the worker processes use (their own settings)."""
    grant = Grant.objects.get(request=approved_request, grantee=researcher)
    root = Path(settings.CUSTODIAN_DATA_ROOT)
    folder = f"test-{uuid.uuid4().hex[:10]}"
    datafile = add_file(grant.dataset, steward, root, big_vcf, f"{folder}/cohort.vcf.gz", SAMPLES)
    yield grant, datafile
    shutil.rmtree(root / folder, ignore_errors=True)
    for leftover in (root / "derivatives").glob(f"{datafile.sha256}.*"):
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
    for leftover in (root / "derivatives").glob(f".{datafile.sha256}.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _pieces_run_by(worker: WorkerProcess) -> set[str]:
    """Ids of the build_piece_task runs a worker's log shows as succeeded."""
    found = re.compile(r"Task access\.tasks\.build_piece_task\[([0-9a-f-]+)\] succeeded")
    return {m.group(1) for line in worker.log for m in [found.search(line)] if m}


def _finished(delivery: Delivery) -> bool:
    return Delivery.objects.get(pk=delivery.pk).status != DeliveryStatus.PREPARING


def _assert_delivered_once(delivery: Delivery, big_vcf: Path, logs: str) -> None:
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY, delivery.error + logs
    links = SignedLink.objects.filter(delivery_file__delivery=delivery)
    assert sorted(links.values_list("delivery_file__name", flat=True)) == [
        "cohort.vcf.gz",
        "cohort.vcf.gz.tbi",
    ]
    ready = AuditEvent.objects.filter(action="delivery.ready", object_id=str(delivery.pk))
    assert ready.count() == 1
    served = delivery.files.get(is_index=False)
    copy = Path(settings.CUSTODIAN_DATA_ROOT) / served.served_path
    assert bcftools_genotypes(copy) == bcftools_genotypes(big_vcf, CONSENTING)
    response = Client().get(link_url(links.get(delivery_file__is_index=False)))
    body = b"".join(response.streaming_content)
    assert (
        hashlib.sha256(body).hexdigest()
        == served.sha256
        == hashlib.sha256(copy.read_bytes()).hexdigest()
    )
    # The pieces' folder is gone with whatever a killed worker left in it.
    assert not list(copy.parent.glob(f".{copy.name}.pieces*"))


def test_pieces_spread_over_the_workers_that_are_free(
    placed: tuple[Grant, Any],
    queue: str,
    workers: list[WorkerProcess],
    researcher: User,
    big_vcf: Path,
) -> None:
    grant, datafile = placed
    workers.append(start_celery_worker(queue, f"{queue}-a"))
    workers.append(start_celery_worker(queue, f"{queue}-b"))

    delivery = delivery_request(actor=researcher, grant=grant, datafile_ids=[datafile.pk])

    logs = "".join(line for w in workers for line in w.log[-20:])
    assert wait_for(lambda: _finished(delivery), timeout=120), logs
    _assert_delivered_once(delivery, big_vcf, logs)
    by_a, by_b = (_pieces_run_by(w) for w in workers)
    assert len(by_a | by_b) == 3
    assert by_a, "the second worker built every piece"
    assert by_b, "the first worker built every piece"


def test_a_worker_killed_mid_build_has_its_piece_redelivered_to_another(
    placed: tuple[Grant, Any],
    queue: str,
    workers: list[WorkerProcess],
    researcher: User,
    big_vcf: Path,
) -> None:
    grant, datafile = placed
    first = start_celery_worker(queue, f"{queue}-first")
    workers.append(first)
    delivery = delivery_request(actor=researcher, grant=grant, datafile_ids=[datafile.pk])
    derivatives = Path(settings.CUSTODIAN_DATA_ROOT) / "derivatives"

    # Wait until the first piece is done and another is being written, then kill the worker
    # (and anything it started) with SIGKILL: no chance to clean up or acknowledge.
    def writing_second_piece() -> list[Path]:
        folders = list(derivatives.glob(f".{datafile.sha256}.*.pieces"))
        if not folders or not (folders[0] / "00000.vcf.gz").exists():
            return []
        return [p for p in folders[0].iterdir() if ".partial" in p.name]

    partial = wait_for(writing_second_piece, timeout=60, interval=0.002)
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait(10)
    assert partial, "".join(first.log[-30:])
    received = re.findall(r"build_piece_task\[([0-9a-f-]+)\] received", "".join(first.log))
    killed_task = received[-1]
    folder = partial[0].parent
    # It died mid-piece: a half-written piece under a temporary name, no copy, no links.
    assert any(".partial" in p.name for p in folder.iterdir())
    assert not list(derivatives.glob(f"{datafile.sha256}.*"))
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PREPARING
    assert not SignedLink.objects.filter(delivery_file__delivery=delivery).exists()

    # Another worker that restores unacknowledged tasks after 3 s picks up the killed one.
    second = start_celery_worker(
        queue, f"{queue}-second", {"CUSTODIAN_BROKER_VISIBILITY_TIMEOUT": "3"}
    )
    workers.append(second)
    started = time.monotonic()
    logs = "".join(second.log[-30:])
    assert wait_for(lambda: _finished(delivery), timeout=120), "".join(second.log[-30:])

    assert killed_task in _pieces_run_by(second), logs
    _assert_delivered_once(delivery, big_vcf, "".join(second.log[-30:]))
    assert time.monotonic() - started < 120
