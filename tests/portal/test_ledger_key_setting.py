"""CUSTODIAN_LEDGER_KEY: a malformed key stops the portal with one line naming it."""

from __future__ import annotations

from pathlib import Path

from tests.portal.test_startup_errors import PRODUCTION, manage

GO_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"


def test_malformed_ledger_key_is_one_line_naming_it_without_the_key() -> None:
    result = manage("check", **PRODUCTION, CUSTODIAN_LEDGER_KEY=GO_KEY[:-3])

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "custodian: CUSTODIAN_LEDGER_KEY is malformed (not valid base64): "
        "make one with manage.py ledger_key_new"
    ]


def test_ledger_key_file_is_read_and_names_the_origin(tmp_path: Path) -> None:
    key_file = tmp_path / "ledger.key"
    key_file.write_text(GO_KEY + "\n")

    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CUSTODIAN_LEDGER_ORIGIN)",
        **PRODUCTION,
        CUSTODIAN_LEDGER_KEY_FILE=str(key_file),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "PeterNeumann"
