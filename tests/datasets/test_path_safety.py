from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from datasets import services
from datasets.models import DataFile, Dataset, FileStatus
from datasets.paths import DataPathError, resolve_data_path
from portal.models import User
from tests.datasets.conftest import register, validate_now

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.bam"
    secret.parent.mkdir()
    secret.write_bytes(b"not yours")
    return secret


def test_relative_path_inside_the_root_resolves(data_root: Path) -> None:
    (data_root / "a").mkdir()
    (data_root / "a" / "x.bam").write_bytes(b"x")

    found = resolve_data_path(" a/./x.bam ")

    assert found.relative == "a/x.bam"
    assert found.absolute == (data_root / "a" / "x.bam").resolve()


def test_absolute_path_inside_the_root_is_made_relative(data_root: Path) -> None:
    (data_root / "x.bam").write_bytes(b"x")

    assert resolve_data_path(str(data_root / "x.bam")).relative == "x.bam"


def test_symlink_inside_the_root_is_accepted(data_root: Path) -> None:
    (data_root / "real.bam").write_bytes(b"x")
    (data_root / "alias.bam").symlink_to(data_root / "real.bam")

    found = resolve_data_path("alias.bam")

    assert found.relative == "alias.bam"
    assert found.absolute == (data_root / "real.bam").resolve()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "A file path is required."),
        ("   ", "A file path is required."),
        (".", ".: this is the data root itself, not a file."),
        ("../secret.bam", "../secret.bam: '..' is not allowed in a path"),
        ("a/../../secret.bam", "a/../../secret.bam: '..' is not allowed in a path"),
        ("a/..", "a/..: '..' is not allowed in a path"),
        ("/etc/passwd", "/etc/passwd: the path is outside the data root."),
        ("x\x00.bam", "'x\\x00.bam': a path may not contain a NUL character."),
    ],
)
def test_bad_paths_are_refused(data_root: Path, path: str, message: str) -> None:
    with pytest.raises(DataPathError) as caught:
        resolve_data_path(path)
    assert caught.value.message.startswith(message)


def test_symlink_escaping_the_root_is_refused(data_root: Path, outside: Path) -> None:
    (data_root / "escape.bam").symlink_to(outside)

    with pytest.raises(DataPathError, match="escape.bam: the path leads outside the data root"):
        resolve_data_path("escape.bam")


def test_symlinked_folder_escaping_the_root_is_refused(data_root: Path, outside: Path) -> None:
    (data_root / "mounted").symlink_to(outside.parent, target_is_directory=True)

    with pytest.raises(DataPathError, match="mounted/secret.bam: the path leads outside"):
        resolve_data_path("mounted/secret.bam")


def test_registration_refuses_every_unsafe_path_and_registers_nothing(
    steward: User,
    dataset: Dataset,
    data_root: Path,
    outside: Path,
    good: GoodFiles,
    place: PlaceFile,
) -> None:
    place(good.bam)
    (data_root / "escape.bam").symlink_to(outside)

    with pytest.raises(services.RegistrationError) as caught:
        register(steward, dataset, good.bam.name, "../secret.bam", str(outside), "escape.bam")

    assert caught.value.problems == (
        "../secret.bam: '..' is not allowed in a path; give the path from the data root.",
        f"{outside}: the path is outside the data root.",
        "escape.bam: the path leads outside the data root through a symbolic link; copy the "
        "file into the data root instead.",
    )
    assert not DataFile.objects.exists()


def test_validation_refuses_a_file_replaced_by_an_escaping_symlink(
    steward: User,
    dataset: Dataset,
    data_root: Path,
    outside: Path,
    good: GoodFiles,
    place: PlaceFile,
) -> None:
    path = place(good.bam, index=False)
    bam = register(steward, dataset, good.bam.name)[0]
    path.unlink()
    os.symlink(outside, path)

    bam = validate_now(steward, bam)

    assert bam.status == FileStatus.FAILED
    assert bam.validation_message.startswith("NA12878.bam: the path leads outside the data root")
