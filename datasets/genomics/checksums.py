"""Size, SHA-256 and MD5 in one read of the file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datasets.genomics.formats import GenomicFileError, PathArg, ProgressCallback, _os_error

CHECKSUM_CHUNK_SIZE = 4 * 1024 * 1024
CHECKSUM_PROGRESS_EVERY = 64 * 1024 * 1024


@dataclass(frozen=True)
class Checksums:
    size: int
    sha256: str
    md5: str


class _DigestWorker(threading.Thread):
    """Feeds one digest; hashlib drops the GIL on large buffers, so two of these overlap."""

    def __init__(self, digest: hashlib._Hash, slots: int) -> None:
        super().__init__(name=f"checksum-{digest.name}", daemon=True)
        self.digest = digest
        self.inbox: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self.free = threading.Semaphore(slots)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (view := self.inbox.get()) is not None:
            try:
                if self.error is None:
                    self.digest.update(view)
            except BaseException as exc:  # re-raised in the reader thread, which waits on us
                self.error = exc
            finally:
                self.free.release()


def compute_checksums(
    path: PathArg,
    *,
    on_progress: ProgressCallback | None = None,
    chunk_size: int = CHECKSUM_CHUNK_SIZE,
    progress_every: int = CHECKSUM_PROGRESS_EVERY,
) -> Checksums:
    """Size, SHA-256 and MD5 in one read of the file.

    The reader fills a small ring of reusable buffers while one thread per digest hashes
    them, so the pass runs at about the speed of the slower digest (MD5) rather than the
    sum of both. ``on_progress(bytes_done, total)`` is called about every
    ``progress_every`` bytes and once at the end.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    p = Path(path)
    try:
        f = p.open("rb", buffering=0)
    except OSError as exc:
        raise _os_error(p, exc) from exc
    with f:
        try:
            total = os.fstat(f.fileno()).st_size
            with contextlib.suppress(AttributeError, OSError):
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            sha256 = hashlib.sha256()
            md5 = hashlib.md5(usedforsecurity=False)
            if total <= chunk_size:
                done = _hash_inline(f, (sha256, md5), chunk_size)
            else:
                done = _hash_threaded(
                    f, (sha256, md5), chunk_size, total, on_progress, progress_every
                )
        except OSError as exc:
            raise _os_error(p, exc) from exc
    if done != total:
        raise GenomicFileError(
            f"{p}: the file changed size while it was read ({total:,} then {done:,} bytes); "
            "wait until it is completely written",
            code="changed-during-read",
        )
    if on_progress is not None:
        on_progress(done, total)
    return Checksums(done, sha256.hexdigest(), md5.hexdigest())


def _hash_inline(f: io.RawIOBase, digests: Sequence[hashlib._Hash], chunk_size: int) -> int:
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    done = 0
    while n := f.readinto(buffer):
        for digest in digests:
            digest.update(view[:n])
        done += n
    return done


def _hash_threaded(
    f: io.RawIOBase,
    digests: Sequence[hashlib._Hash],
    chunk_size: int,
    total: int,
    on_progress: ProgressCallback | None,
    progress_every: int,
) -> int:
    slots = 4
    buffers = [bytearray(chunk_size) for _ in range(slots)]
    workers = [_DigestWorker(digest, slots) for digest in digests]
    for worker in workers:
        worker.start()
    done = 0
    next_report = progress_every
    try:
        for i in itertools.count():
            # A buffer is refilled only after every digest has consumed it: each worker
            # releases its semaphore once per chunk, in order.
            for worker in workers:
                worker.free.acquire()
            buffer = buffers[i % slots]
            n = f.readinto(buffer)
            if not n:
                break
            view = memoryview(buffer)[:n]
            for worker in workers:
                worker.inbox.put(view)
            done += n
            if on_progress is not None and done >= next_report and done < total:
                on_progress(done, total)
                next_report = done + progress_every
    finally:
        for worker in workers:
            worker.inbox.put(None)
        for worker in workers:
            worker.join()
    for worker in workers:
        if worker.error is not None:
            raise worker.error
    return done


def _sums_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.sums.json")


def kept_checksums(path: PathArg) -> Checksums:
    """A file's size, SHA-256 and MD5, computed once per version of the file (for files read
    again and again, such as consent-filtered copies).

    They are kept beside it (`.<name>.sums.json`) with the size and mtime they were computed
    for, so a later caller does not read it all again; a file rebuilt or touched since has
    another mtime and is hashed anew.
    """
    path = Path(path)
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    kept = _sums_path(path)
    try:
        known = json.loads(kept.read_text(encoding="utf-8"))
        if {k: known.get(k) for k in stamp} == stamp:
            return Checksums(stat.st_size, str(known["sha256"]), str(known["md5"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none kept yet, or unreadable: hash the copy
    sums = compute_checksums(path)
    temporary = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
    temporary.write_text(
        json.dumps({**stamp, "sha256": sums.sha256, "md5": sums.md5}), encoding="utf-8"
    )
    temporary.replace(kept)
    return sums
