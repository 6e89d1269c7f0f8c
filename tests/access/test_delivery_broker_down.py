"""The broker unreachable when a researcher asks for links: the delivery is refused with a
clear "try again shortly", never left preparing with nothing queued.

The test runs its own Redis on another port and stops it (never the shared one)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from access.models import Delivery, DeliveryStatus
from access.services import delivery_request
from access.services.deliveries import BROKER_DOWN
from portal.celery import app as celery_app
from portal.models import Notification, User
from tests.access.delivery_support import World

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _use_broker(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    celery_app.conf.broker_url = url
    # The app caches its connection pool and producers: drop them so the next publish
    # connects to this broker.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def own_redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - a fixed command
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.task_always_eager = False
    _use_broker(monkeypatch, f"redis://127.0.0.1:{port}/0")
    assert celery_app.connection_for_write().port == port
    try:
        yield server, port
    finally:
        celery_app.conf.task_always_eager = previous[1]
        monkeypatch.undo()
        celery_app.conf.broker_url = previous[0]
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=10)


def test_a_request_is_queued_while_the_broker_is_up_and_refused_once_it_is_down(
    delivery_world: World,
    researcher: User,
    own_redis: tuple[subprocess.Popen[bytes], int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    server, port = own_redis
    queue = celery_app.conf.task_default_queue

    with django_capture_on_commit_callbacks(execute=True):
        queued = delivery_request(actor=researcher, grant=delivery_world.grant)
    assert redis.Redis(port=port).llen(queue) == 1
    assert Delivery.objects.get(pk=queued.pk).status == DeliveryStatus.PREPARING

    server.terminate()
    server.wait(timeout=10)
    with django_capture_on_commit_callbacks(execute=True):
        refused = delivery_request(actor=researcher, grant=delivery_world.grant)

    refused.refresh_from_db()
    assert refused.status == DeliveryStatus.FAILED
    assert refused.error == BROKER_DOWN
    assert BROKER_DOWN.endswith("try again shortly.")
    assert Notification.objects.filter(user=researcher).latest("pk").message == (
        f"Your download links could not be prepared: {BROKER_DOWN}"
    )
