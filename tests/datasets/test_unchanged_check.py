from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from datasets.models import DataFile, Dataset
from datasets.selectors import FileChangedError, datafile_check_unchanged
from portal.exceptions import PortalError
from portal.models import User
from tests.datasets.conftest import register, validate_now

if TYPE_CHECKING:
    from pathlib import Path

    from tests.datasets.conftest import GoodFiles, PlaceFile


@pytest.fixture
def validated(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> tuple[DataFile, Path]:
    path = place(good.bam, "reads/NA12878.bam")
    return validate_now(steward, register(steward, dataset, "reads/NA12878.bam")[0]), path


def _flip_a_byte_keeping_size_and_mtime(path: Path) -> None:
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_unchanged_file_passes_quick_and_full_checks(
    validated: tuple[DataFile, Path],
) -> None:
    file, path = validated

    assert datafile_check_unchanged(file) == path.resolve()
    assert datafile_check_unchanged(file, full=True) == path.resolve()


def test_a_changed_size_is_reported(validated: tuple[DataFile, Path]) -> None:
    file, path = validated
    with path.open("ab") as f:
        f.write(b"more")

    with pytest.raises(FileChangedError) as caught:
        datafile_check_unchanged(file)

    assert caught.value.message == (
        f"reads/NA12878.bam: the file has changed since it was validated (now "
        f"{file.size + 4:,} bytes, validated at {file.size:,}); it cannot be delivered until "
        "it is validated again."
    )
    assert isinstance(caught.value, PortalError)
    assert caught.value.http_status == 409


def test_a_newer_mtime_is_reported_by_the_quick_check(validated: tuple[DataFile, Path]) -> None:
    file, path = validated
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    with pytest.raises(FileChangedError, match="reads/NA12878.bam: the file was modified after"):
        datafile_check_unchanged(file)
    # Touched, not changed: the full check reads the content and lets it through.
    assert datafile_check_unchanged(file, full=True)


def test_checksum_mismatch_is_found_by_the_full_check(
    validated: tuple[DataFile, Path],
) -> None:
    file, path = validated
    _flip_a_byte_keeping_size_and_mtime(path)

    assert datafile_check_unchanged(file)  # size and mtime cannot see it
    with pytest.raises(FileChangedError) as caught:
        datafile_check_unchanged(file, full=True)

    assert caught.value.message.startswith(
        "reads/NA12878.bam: checksum mismatch: the SHA-256 is now "
    )
    assert f"but {file.sha256} was validated; it cannot be delivered" in caught.value.message


def test_a_vanished_file_is_reported(validated: tuple[DataFile, Path]) -> None:
    file, path = validated
    path.unlink()

    with pytest.raises(FileChangedError, match="reads/NA12878.bam: the file has vanished since"):
        datafile_check_unchanged(file)


def test_a_file_not_validated_cannot_pass(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    place(good.cram)
    file = register(steward, dataset, "NA12891.cram")[0]

    with pytest.raises(FileChangedError, match="NA12891.cram: the file has not been validated."):
        datafile_check_unchanged(file)
