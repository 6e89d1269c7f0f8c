"""/healthz answers while the process lives; /readyz checks the database and the broker and
names what is down (load balancers and Kubernetes take the instance out of rotation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def test_readyz_answers_ready_when_database_and_broker_answer(db: None) -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok"},
    }


def test_readyz_names_a_broker_that_is_down(db: None, settings: Any) -> None:
    # A port nothing listens on: the broker is really unreachable.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down: ")


def test_readyz_names_a_database_that_is_down() -> None:
    """In a process of its own whose database is a port nothing listens on."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/readyz');"
        "print(r.status_code, r.content.decode())"
    )
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/nothing",
    }
    env.pop("DATABASE_TEST_NAME", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    assert status == "503", result.stdout + result.stderr
    checks = json.loads(body)["checks"]
    assert checks["database"].startswith("down: ")


def test_healthz_touches_neither(db: None, settings: Any, django_assert_num_queries: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"

    with django_assert_num_queries(0):
        response = Client().get("/healthz")

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
