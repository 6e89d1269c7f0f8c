from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from datasets import synthetic
from datasets.genomics import CHECKSUM_CHUNK_SIZE, Checksums, GenomicFileError, compute_checksums

SMALL_CHUNK = 4096


def _write(path: Path, size: int, seed: int = 0) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def _expected(data: bytes) -> Checksums:
    return Checksums(
        len(data),
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )


@pytest.mark.parametrize(
    "size",
    [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK + 17, 1_000_003],
)
def test_compute_checksums_match_hashlib(tmp_path: Path, size: int) -> None:
    path = tmp_path / "blob"
    data = _write(path, size, seed=size)
    assert compute_checksums(path, chunk_size=SMALL_CHUNK) == _expected(data)


@pytest.mark.skipif(
    shutil.which("sha256sum") is None or shutil.which("md5sum") is None, reason="coreutils"
)
@pytest.mark.parametrize("size", [0, 2 * CHECKSUM_CHUNK_SIZE + 12_345])
def test_compute_checksums_match_coreutils(tmp_path: Path, size: int) -> None:
    path = tmp_path / "blob.bam"
    _write(path, size, seed=7)
    result = compute_checksums(path)
    sha256 = subprocess.run(["sha256sum", path], check=True, capture_output=True, text=True)
    md5 = subprocess.run(["md5sum", path], check=True, capture_output=True, text=True)
    assert result.size == size
    assert result.sha256 == sha256.stdout.split()[0]
    assert result.md5 == md5.stdout.split()[0]


def test_compute_checksums_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    _write(path, 100_000)
    calls: list[tuple[int, int]] = []
    compute_checksums(
        path,
        chunk_size=SMALL_CHUNK,
        progress_every=10_000,
        on_progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (100_000, 100_000)
    assert all(total == 100_000 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(set(done))
    # At most one call per progress interval, plus the final one.
    assert all(b - a >= 10_000 for a, b in zip(done, done[1:-1], strict=False))
    assert 5 <= len(calls) <= 11


def test_compute_checksums_progress_on_small_file_is_final_only(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    _write(path, 10)
    calls: list[tuple[int, int]] = []
    compute_checksums(path, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(10, 10)]


def test_compute_checksums_callback_error_stops_the_threads(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    _write(path, 200_000)
    before = threading.active_count()

    def fail(done: int, total: int) -> None:
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        compute_checksums(path, chunk_size=SMALL_CHUNK, progress_every=1, on_progress=fail)
    assert threading.active_count() == before


def test_compute_checksums_file_growing_while_read(tmp_path: Path) -> None:
    path = tmp_path / "growing.bam"
    _write(path, 50_000)

    def append(done: int, total: int) -> None:
        with path.open("ab") as f:
            f.write(b"x" * SMALL_CHUNK)

    with pytest.raises(GenomicFileError) as caught:
        compute_checksums(path, chunk_size=SMALL_CHUNK, progress_every=1, on_progress=append)
    assert caught.value.code == "changed-during-read"
    assert str(caught.value).startswith(f"{path}: the file changed size while it was read (50,000")


def test_compute_checksums_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GenomicFileError) as caught:
        compute_checksums(tmp_path / "missing.cram")
    assert str(caught.value) == f"{tmp_path / 'missing.cram'}: no such file"


def test_compute_checksums_directory(tmp_path: Path) -> None:
    with pytest.raises(GenomicFileError, match="is a directory, not a file"):
        compute_checksums(tmp_path)


def test_synthetic_files_are_reproducible(tmp_path: Path) -> None:
    reference = synthetic.write_reference_fasta(tmp_path / "ref.fa", seed=3)
    writers = {
        "bam": lambda p: synthetic.write_bam(p, sample="S", seed=4, index=False),
        "cram": lambda p: synthetic.write_cram(
            p, reference_path=reference, sample="S", seed=4, index=False
        ),
        "vcf.gz": lambda p: synthetic.write_vcf_gz(p, samples=["A", "B"], seed=4, index=False),
        "bcf": lambda p: synthetic.write_bcf(p, samples=["A", "B"], seed=4, index=False),
    }
    for suffix, write in writers.items():
        first, second = write(tmp_path / f"a.{suffix}"), write(tmp_path / f"b.{suffix}")
        assert compute_checksums(first) == compute_checksums(second), suffix
    other = synthetic.write_vcf_gz(tmp_path / "c.vcf.gz", samples=["A", "B"], seed=5, index=False)
    assert compute_checksums(other) != compute_checksums(tmp_path / "a.vcf.gz")
