"""`manage.py import_participants FILE.csv [--dry-run]`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from consent.models import Participant
from portal.models import User

GOOD = (
    "study_id,email,full_name,language,date_of_birth\n"
    "S-1,ann@example.org,Ann Jones,en,1980-04-12\n"
    "S-2,bob@example.org,Bob Brown,en,\n"
)


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_participants", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(GOOD, encoding="utf-8")
    return path


def test_command_dry_run_shows_the_plan_and_saves_nothing(steward: User, csv_file: Path) -> None:
    out, _ = _run(str(csv_file), "--steward", steward.email, "--dry-run")

    assert "line 2: S-1 Ann Jones <ann@example.org> en 1980-04-12" in out
    assert "line 3: S-2 Bob Brown <bob@example.org> en -" in out
    assert (
        "Dry run: 2 participants (0 with a guardian) would be enrolled; nothing was saved." in out
    )
    assert Participant.objects.count() == 0


def test_command_imports_and_queues_invitations(
    steward: User, csv_file: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = _run(str(csv_file), "--steward", steward.email)

    assert "Enrolled 2 participants (0 with a guardian)" in out
    assert sorted(Participant.objects.values_list("study_id", flat=True)) == ["S-1", "S-2"]
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "bob@example.org"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_command_lists_problems_and_imports_nothing(
    steward: User, tmp_path: Path, dry_run: bool
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(GOOD + "S-1,jo@,Jo,en,2023-02-30\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError, match="3 problems: nothing was imported."):
        call_command(
            "import_participants",
            str(path),
            "--steward",
            steward.email,
            *(["--dry-run"] if dry_run else []),
            stdout=io.StringIO(),
            stderr=err,
        )

    assert err.getvalue().splitlines() == [
        "Line 4: study ID S-1 is also on line 2.",
        "Line 4: email “jo@” is not a valid email address.",
        "Line 4: date_of_birth 2023-02-30 is not a real date.",
    ]
    assert Participant.objects.count() == 0


def test_command_needs_a_steward(researcher: User, csv_file: Path) -> None:
    with pytest.raises(CommandError, match="No data steward has the email researcher@example.org."):
        _run(str(csv_file), "--steward", researcher.email)


def test_command_reports_a_missing_file(steward: User, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read .*missing.csv: No such file or directory."):
        _run(str(tmp_path / "missing.csv"), "--steward", steward.email)
