"""Every command of the project shows an example in its --help, and exits 0 only on full
success: a refusal is a CommandError, which manage.py turns into one line and status 1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = ("portal", "consent", "datasets", "access")
COMMANDS = sorted(name for name, app in get_commands().items() if app in OUR_APPS)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_project_commands_are_found() -> None:
    # Written out: finding none would make the test below pass on nothing.
    assert {"register_dataset", "import_participants", "seed_demo", "preflight"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_examples(command: str) -> None:
    result = _manage(command, "--help")

    assert result.returncode == 0, result.stderr
    examples = result.stdout.split("\nexamples:\n", 1)
    assert len(examples) == 2, result.stdout[-600:]
    lines = examples[1].splitlines()
    assert lines
    assert all(re.match(r"  (manage\.py |curl )", line) for line in lines), lines
    assert any(line.startswith(f"  manage.py {command}") for line in lines), lines


def test_a_refusal_exits_with_status_1_in_one_line() -> None:
    result = _manage("ledger_key_new", "no spaces allowed here")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("CommandError: 'no spaces allowed here' cannot name a key")
    assert "Traceback" not in result.stderr


def test_preflight_exits_1_when_the_broker_does_not_answer() -> None:
    result = _manage("preflight", "--timeout", "1", CELERY_BROKER_URL="redis://127.0.0.1:9/0")

    assert result.returncode == 1
    assert "cannot reach the Celery broker (CELERY_BROKER_URL=redis://127.0.0.1:9/0)" in (
        result.stderr
    )


def test_a_missing_file_exits_1(tmp_path: Path) -> None:
    result = _manage("verify_audit_ledger", "--checkpoint", str(tmp_path / "absent.txt"))

    assert result.returncode == 1
    assert f"checkpoint {tmp_path / 'absent.txt'} cannot be used" in result.stderr
