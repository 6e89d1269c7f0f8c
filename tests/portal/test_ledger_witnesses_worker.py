"""End to end through a real Celery worker process: the seal task seals, signs and queues the
push; the push task, retried once after a 503, delivers the checkpoint to a real local
HTTP witness."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from portal.audit import audit_log
from portal.celery import app as celery_app
from portal.models import LedgerCheckpoint, LedgerWitnessPush, WitnessPushStatus
from portal.tasks import seal_ledger_task
from tests.conftest import start_celery_worker, stop_celery_worker, wait_for
from tests.portal.test_ledger_witnesses import FakeWitness

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"witness-{uuid.uuid4().hex[:10]}"
    before = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False
    yield name
    celery_app.conf.task_default_queue = before


def test_worker_seals_and_pushes_after_a_retry(queue: str) -> None:
    witness = FakeWitness()
    witness.answers = [(503, "text/plain", "starting up")]
    worker = start_celery_worker(queue, f"{queue}-w", {"CUSTODIAN_LEDGER_WITNESSES": witness.url})
    try:
        for i in range(3):
            audit_log(actor=None, action="test.witness", object_type="thing", object_id=i)

        seal_ledger_task.delay()

        delivered = wait_for(
            lambda: LedgerWitnessPush.objects.filter(status=WitnessPushStatus.DELIVERED).first(),
            timeout=60,
        )
        assert delivered is not None, "".join(worker.log[-40:])
        assert delivered.attempts == 2
        assert delivered.checkpoint.tree_size == 3
        note = LedgerCheckpoint.objects.get(tree_size=3).note
        assert witness.bodies == [f"old 0\n\n{note}", f"old 0\n\n{note}"]
        assert "Retry in 5s" in "".join(worker.log)
    finally:
        stop_celery_worker(worker)
        witness.server.shutdown()
        witness.server.server_close()
