"""The byte ranges of a CRAM file that hold a region's reads, read off its .crai index.

This is how htsget serves a CRAM: the client fetches the file's own bytes (its header, the
containers overlapping the region, the end-of-file container) and concatenates them into a
valid CRAM. Nothing is decoded, so the reference sequence the reads were compressed against
is not needed here. Containers are whole, so reads near the region may come along; htsget
lets a server return them and clients filter.

A .crai is gzipped text, one line per slice: reference id (-1 unmapped), alignment start
(1-based), alignment span, the container's byte offset in the file, the slice's offset
within the container's data, and the slice's size.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datasets.genomics.formats import (
    CRAM_EOF_V2,
    CRAM_EOF_V3,
    GenomicFileError,
    PathArg,
)


@dataclass(frozen=True)
class ByteRange:
    """Bytes first..last (inclusive, as in an HTTP Range header) and htsget's class."""

    first: int
    last: int
    klass: str  # "header" or "body"

    @property
    def header_value(self) -> str:
        return f"bytes={self.first}-{self.last}"


@dataclass(frozen=True)
class CramSlice:
    reference: int
    start: int  # 1-based
    span: int
    container: int


@dataclass(frozen=True)
class CramLayout:
    """What the ranges are computed from: the file's size, where its end-of-file container
    starts (its size when it has none), and the index's slices."""

    size: int
    eof_start: int
    slices: tuple[CramSlice, ...]

    @property
    def containers(self) -> list[int]:
        return sorted({s.container for s in self.slices})


def _bad_index(path: Path, why: str) -> GenomicFileError:
    return GenomicFileError(
        f"{path.name}: the CRAM index cannot be read ({why}); re-index the file with "
        "`samtools index` and register the index again.",
        code="index_invalid",
    )


def read_crai(index_path: PathArg) -> tuple[CramSlice, ...]:
    path = Path(index_path)
    try:
        text = gzip.decompress(path.read_bytes()).decode("ascii")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise _bad_index(path, str(exc)) from exc
    slices = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 6:
            raise _bad_index(path, f"line {number} has {len(fields)} fields, not 6")
        try:
            reference, start, span, container = (int(f) for f in fields[:4])
        except ValueError as exc:
            raise _bad_index(path, f"line {number} is not numbers") from exc
        slices.append(CramSlice(reference, start, span, container))
    return tuple(slices)


def cram_layout(data_path: PathArg, index_path: PathArg) -> CramLayout:
    path = Path(data_path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(6)
        if not head.startswith(b"CRAM") or len(head) < 6:
            raise GenomicFileError(f"{path.name} is not a CRAM file.", code="format")
        marker = {1: b"", 2: CRAM_EOF_V2}.get(head[4], CRAM_EOF_V3)
        f.seek(max(0, size - len(marker)))
        tail = f.read()
    eof_start = size - len(marker) if marker and tail == marker else size
    slices = read_crai(index_path)
    if any(s.container < 6 or s.container >= eof_start for s in slices):
        raise _bad_index(Path(index_path), "a container offset lies outside the file")
    return CramLayout(size, eof_start, slices)


def _merged(ranges: list[ByteRange]) -> list[ByteRange]:
    merged: list[ByteRange] = []
    for r in ranges:
        last = merged[-1] if merged else None
        if last is not None and last.klass == r.klass and last.last + 1 == r.first:
            merged[-1] = ByteRange(last.first, r.last, r.klass)
        else:
            merged.append(r)
    return merged


def cram_byte_ranges(
    layout: CramLayout,
    regions: Sequence[tuple[int, int | None, int | None]],
    *,
    header_only: bool = False,
) -> list[ByteRange]:
    """The ranges to fetch, in order: header, containers, end-of-file container.

    `regions` are (reference index, 0-based start or None, 0-based exclusive end or None);
    none means the whole file. With `header_only`, the header alone.
    """
    containers = layout.containers
    body_start = containers[0] if containers else layout.eof_start
    ranges = [ByteRange(0, body_start - 1, "header")]
    if header_only:
        return ranges
    wanted: set[int] = set()
    if not regions:
        wanted = set(containers)
    for reference, start, end in regions:
        for s in layout.slices:
            if s.reference != reference:
                continue
            # The slice covers [s.start, s.start + s.span - 1] (1-based); the region
            # [start + 1, end] in the same terms.
            if end is not None and s.start > end:
                continue
            if start is not None and s.start + s.span - 1 < start + 1:
                continue
            wanted.add(s.container)
    ends = dict(zip(containers, [*containers[1:], layout.eof_start], strict=True))
    ranges += [ByteRange(c, ends[c] - 1, "body") for c in sorted(wanted)]
    if layout.eof_start < layout.size:
        ranges.append(ByteRange(layout.eof_start, layout.size - 1, "body"))
    return _merged(ranges)
