"""Checksums kept beside a file read again and again (consent-filtered copies): computed
once per version of the file, recomputed when the file changes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from datasets.genomics import Checksums, kept_checksums


def _sums(data: bytes) -> Checksums:
    return Checksums(
        len(data),
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )


def test_the_first_read_hashes_and_keeps_the_sums(tmp_path: Path) -> None:
    copy = tmp_path / "copy.vcf.gz"
    copy.write_bytes(b"first version")

    assert kept_checksums(copy) == _sums(b"first version")

    kept = json.loads((tmp_path / ".copy.vcf.gz.sums.json").read_text())
    assert kept == {
        "size": 13,
        "mtime_ns": copy.stat().st_mtime_ns,
        "sha256": hashlib.sha256(b"first version").hexdigest(),
        "md5": hashlib.md5(b"first version", usedforsecurity=False).hexdigest(),
    }


def test_a_later_read_takes_the_kept_sums_without_reading_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "copy.vcf.gz"
    copy.write_bytes(b"first version")
    stat = copy.stat()
    # Sums that are not the file's: returned only if the file is not read again.
    (tmp_path / ".copy.vcf.gz.sums.json").write_text(
        json.dumps({"size": 13, "mtime_ns": stat.st_mtime_ns, "sha256": "a" * 64, "md5": "b" * 32})
    )

    assert kept_checksums(copy) == Checksums(13, "a" * 64, "b" * 32)


def test_a_rebuilt_file_is_hashed_again(tmp_path: Path) -> None:
    copy = tmp_path / "copy.vcf.gz"
    copy.write_bytes(b"first version")
    kept_checksums(copy)
    copy.write_bytes(b"other content")  # same size
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    assert kept_checksums(copy) == _sums(b"other content")


def test_unreadable_kept_sums_are_recomputed(tmp_path: Path) -> None:
    copy = tmp_path / "copy.vcf.gz"
    copy.write_bytes(b"first version")
    (tmp_path / ".copy.vcf.gz.sums.json").write_text("{not json")

    assert kept_checksums(copy) == _sums(b"first version")
    assert json.loads((tmp_path / ".copy.vcf.gz.sums.json").read_text())["size"] == 13
