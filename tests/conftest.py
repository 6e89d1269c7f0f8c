from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail, signing
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.celery import app as celery_app
from portal.models import Role, User
from tests.factories import PASSWORD, CommitteeFactory, ParticipantFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
# One queue per test session: a CI run never takes another run's messages off a shared Redis.
SESSION_QUEUE = f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate limits count afresh in every test (thousands of sign-ins come from 127.0.0.1).
    settings.CACHES = {
        **django_settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"ratelimit-{uuid.uuid4().hex}",
        },
    }
    settings.CELERY_TASK_DEFAULT_QUEUE = SESSION_QUEUE
    celery_app.conf.task_default_queue = SESSION_QUEUE
    # Tasks run in-process unless the test asked for the real worker process.
    eager = "celery_worker" not in request.fixturenames
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = eager
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True, scope="session")
def _flush_as_the_databases_owner() -> Iterator[None]:
    """Transactional tests end by truncating every table, and the ledger's tables refuse
    TRUNCATE (portal migration 0012). The test database's owner is a superuser, who can do
    what no trigger stops: the flush skips triggers, as the README says an owner can."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self: DatabaseOperations, *args: Any, **kwargs: Any) -> list[str]:
        statements = original(self, *args, **kwargs)
        if not statements:
            return statements
        return ["SET LOCAL session_replication_role = replica", *statements]

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.sql_flush = original  # type: ignore[method-assign]


# --- personas ---------------------------------------------------------------------------


@pytest.fixture
def participant(db: None) -> User:
    return ParticipantFactory(
        user__email="participant@example.org", user__full_name="Pat Participant"
    ).user


@pytest.fixture
def other_participant(db: None) -> User:
    return ParticipantFactory(user__email="other.participant@example.org").user


@pytest.fixture
def researcher(db: None) -> User:
    return UserFactory(
        email="researcher@example.org", full_name="Riley Researcher", role=Role.RESEARCHER
    )


@pytest.fixture
def outsider(db: None) -> User:
    """Signed in, but with no relation to anything the test is about."""
    return UserFactory(email="outsider@elsewhere.example", role=Role.RESEARCHER)


@pytest.fixture
def dac_chair(db: None) -> User:
    return UserFactory(email="chair@example.org", full_name="Dana Chair", role=Role.DAC_CHAIR)


@pytest.fixture
def dac_member(db: None, dac_chair: User) -> User:
    member = UserFactory(
        email="member@example.org", full_name="Morgan Member", role=Role.DAC_MEMBER
    )
    committee = CommitteeFactory(name="Test DAC")
    committee.chairs.add(dac_chair)
    committee.members.add(dac_chair, member)
    return member


@pytest.fixture
def third_member(db: None) -> User:
    """A second member of "Test DAC" (added by the tests that need a third voter)."""
    return UserFactory(
        email="third.member@example.org",
        full_name="Toni Third",
        role=Role.DAC_MEMBER,
        institution="Other Institute",
    )


@pytest.fixture
def steward(db: None) -> User:
    return UserFactory(email="steward@example.org", full_name="Sam Steward", role=Role.STEWARD)


def totp_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_now(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def signed_in_client(user: User) -> Client:
    """A client signed in through the sign-in form, with the second factor when required."""
    client = Client()
    response = client.post("/account/sign-in/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    if user.needs_otp and django_settings.CUSTODIAN_REQUIRE_OTP:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
        response = client.post("/account/otp/", {"token": totp_now(device)})
        assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def sign_in() -> Any:
    return signed_in_client


def clock_moved_on(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Emailed links are signed with django.core.signing's clock: move only that clock on, so
    a link's age can be tested without waiting (and without moving the database's clock)."""
    now = time.time()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + seconds))


def link_from_last_email(path_prefix: str) -> str:
    """The path of the first link in the latest email that starts with path_prefix."""
    assert mail.outbox, "no email was sent"
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}[^\s]+)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


# --- a real Celery worker process ------------------------------------------------------------


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[str]):
        self.process = process
        self.log: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            if " ready." in line:
                self.ready.set()


def start_celery_worker(
    queue: str, node: str, extra_env: dict[str, str] | None = None
) -> WorkerProcess:
    """`celery worker` in its own process (solo pool), on the configured broker and the test
    database, consuming ``queue``; waits until it is ready."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CUSTODIAN_CELERY_QUEUE": queue,
        "DEBUG": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **(extra_env or {}),
    }
    env.pop("DATABASE_TEST_NAME", None)
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
            queue,
            "-n",
            f"{node}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group, so a test can kill the worker and anything it started.
        start_new_session=True,
    )
    worker = WorkerProcess(process)
    if not worker.ready.wait(60):
        process.kill()
        pytest.fail("the Celery worker did not start:\n" + "".join(worker.log[-40:]))
    return worker


def stop_celery_worker(worker: WorkerProcess) -> None:
    worker.process.terminate()
    try:
        worker.process.wait(20)
    except subprocess.TimeoutExpired:
        worker.process.kill()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[WorkerProcess]:
    """A worker on the session's queue, shared by the tests that need one."""
    worker = start_celery_worker(SESSION_QUEUE, SESSION_QUEUE)
    yield worker
    stop_celery_worker(worker)


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
