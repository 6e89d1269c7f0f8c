"""register_dataset --sync: a file that fails validation makes the command fail (exit
status 1), and each file is named once, the failed ones with their problems."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import CommandError, call_command

from datasets.models import DataFile, FileStatus
from portal.models import User

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile

NEW = ["--title", "Cohort", "--committee", "Genomics DAC", "--permission", "GRU", "--sync"]


def test_a_failed_file_fails_the_command_and_each_file_is_named_once(
    tmp_path: Path,
    data_root: Path,
    steward: User,
    committee: Any,
    good: GoodFiles,
    place: PlaceFile,
) -> None:
    place(good.bam, "reads/good.bam")
    (data_root / "reads" / "empty.bam").write_bytes(b"")
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("path\nreads/good.bam\nreads/empty.bam\n", encoding="utf-8")
    out = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command(
            "register_dataset", str(manifest), "--steward", steward.email, *NEW, stdout=out
        )

    assert out.getvalue().splitlines()[-2:] == [
        "Validating here (the same service the worker's task runs):",
        "  reads/good.bam: valid",
    ]
    assert str(caught.value).splitlines() == [
        "1 of 2 file(s) failed validation (the others are valid; fix each file, then validate "
        "it again on the dataset's page or with the API):",
        "  reads/empty.bam: failed",
        "    the file is empty (0 bytes)",
    ]
    everything = out.getvalue() + str(caught.value)
    assert everything.count("reads/empty.bam") == 1
    assert everything.count("reads/good.bam") == 1
    assert DataFile.objects.get(path="reads/empty.bam").status == FileStatus.FAILED


def test_all_valid_is_a_success(
    tmp_path: Path, steward: User, committee: Any, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.bam, "reads/good.bam")
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("path\nreads/good.bam\n", encoding="utf-8")
    out = StringIO()

    call_command("register_dataset", str(manifest), "--steward", steward.email, *NEW, stdout=out)

    assert out.getvalue().splitlines()[-1] == "  reads/good.bam: valid"
