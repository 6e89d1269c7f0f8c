"""Operators get one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!kq2-long-random-production-secret-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "custodian.example.org",
}


# A clean operator's environment: nothing of the test session's own settings.
INHERITED = {"DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in INHERITED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_secret_key_in_production_is_one_line_naming_it() -> None:
    result = manage("check", DEBUG="0")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: SECRET_KEY is not set: set SECRET_KEY (or SECRET_KEY_FILE) when DEBUG is off"
    ]


def test_secret_key_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(PRODUCTION["SECRET_KEY"] + "\n")

    result = manage("check", DEBUG="0", SECRET_KEY_FILE=str(secret))

    assert result.returncode == 0, result.stderr


def test_unreadable_secret_key_file_names_the_variable(tmp_path: Path) -> None:
    result = manage("check", DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "absent"))

    assert result.returncode != 0
    assert "SECRET_KEY_FILE=" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_boolean_names_the_variable() -> None:
    result = manage("check", DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_deploy_passes_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_unreachable_database_is_one_line_naming_database_url() -> None:
    result = manage(
        "preflight",
        "--timeout",
        "2",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
        DEBUG="1",
    )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert (
        "cannot reach the database (DATABASE_URL=postgres://postgres@127.0.0.1:1/nowhere)"
        in lines[0]
    )


def test_unreachable_broker_is_one_line_naming_celery_broker_url() -> None:
    result = manage(
        "preflight", "--timeout", "2", CELERY_BROKER_URL="redis://127.0.0.1:1/0", DEBUG="1"
    )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach the Celery broker (CELERY_BROKER_URL=redis://127.0.0.1:1/0)" in lines[0]


def test_preflight_passes_on_the_configured_services() -> None:
    result = manage("preflight", DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert "database and broker answer" in result.stdout


@pytest.mark.parametrize("url", ["postgres://user:s3cret@127.0.0.1:1/db"])
def test_preflight_never_prints_the_database_password(url: str) -> None:
    result = manage("preflight", "--timeout", "2", DATABASE_URL=url, DEBUG="1")

    assert "s3cret" not in result.stderr
    assert "user:***@" in result.stderr
