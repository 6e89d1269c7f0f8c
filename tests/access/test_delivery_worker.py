"""A delivery prepared by a real Celery worker process over the broker: the request queues the
task after commit, the worker issues the links once, and they download."""

from __future__ import annotations

import hashlib
import shutil
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
from portal.celery import app as celery_app
from portal.models import User
from tests.access.delivery_support import Sources, add_file
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_folder() -> Iterator[Path]:
    """A folder in the data root the worker process was started with (its own settings)."""
    folder = Path(settings.CUSTODIAN_DATA_ROOT) / f"test-{uuid.uuid4().hex[:10]}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_worker_prepares_the_delivery_once(
    request: pytest.FixtureRequest,
    approved_request: AccessRequest,
    researcher: User,
    steward: User,
    sources: Sources,
    worker_folder: Path,
) -> None:
    # The review ran eagerly while the request was approved; the delivery goes to the worker.
    grant = Grant.objects.get(request=approved_request, grantee=researcher)
    root = Path(settings.CUSTODIAN_DATA_ROOT)
    bam = add_file(
        grant.dataset, steward, root, sources.bam_s000, f"{worker_folder.name}/S000.bam", ["S000"]
    )
    worker: Any = request.getfixturevalue("celery_worker")
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False

    delivery = delivery_request(actor=researcher, grant=grant, datafile_ids=[bam.pk])

    def ready() -> bool:
        status = Delivery.objects.get(pk=delivery.pk).status
        return status != DeliveryStatus.PREPARING

    assert wait_for(ready, timeout=60), "".join(worker.log[-30:])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY, delivery.error
    links = SignedLink.objects.filter(delivery_file__delivery=delivery)
    assert sorted(links.values_list("delivery_file__name", flat=True)) == [
        "S000.bam",
        "S000.bam.bai",
    ]
    response = Client().get(link_url(links.get(delivery_file__is_index=False)))
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == bam.sha256
