"""Byte ranges of a CRAM from its .crai: what they select, checked against a hand-written
index of a made-up layout, and refusals of an unreadable index."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from datasets.genomics import CRAM_EOF_V3, GenomicFileError
from datasets.genomics.cram_ranges import (
    ByteRange,
    CramLayout,
    CramSlice,
    cram_byte_ranges,
    cram_layout,
)

# Containers at 100, 300 and 500 on reference 0 (reads 1-1000, 1001-2000, 2001-3000), one at
# 700 on reference 1 (1-500), unmapped reads at 900; the EOF container from 1000 to 1037.
LAYOUT = CramLayout(
    size=1038,
    eof_start=1000,
    slices=(
        CramSlice(0, 1, 1000, 100),
        CramSlice(0, 1001, 1000, 300),
        CramSlice(0, 2001, 1000, 500),
        CramSlice(1, 1, 500, 700),
        CramSlice(-1, 0, 0, 900),
    ),
)
HEADER = ByteRange(0, 99, "header")
EOF = ByteRange(1000, 1037, "body")


@pytest.mark.parametrize(
    ("regions", "expected"),
    [
        # 0-based half-open [1000, 1001) is base 1001: the second container only.
        ([(0, 1000, 1001)], [HEADER, ByteRange(300, 499, "body"), EOF]),
        # [999, 1001) touches bases 1000 and 1001: the first two, merged into one range.
        ([(0, 999, 1001)], [HEADER, ByteRange(100, 499, "body"), EOF]),
        ([(0, None, None)], [HEADER, ByteRange(100, 699, "body"), EOF]),
        ([(1, 0, 10)], [HEADER, ByteRange(700, 899, "body"), EOF]),
        ([(1, 600, 700)], [HEADER, EOF]),
        ([(0, 2500, None), (1, None, 5)], [HEADER, ByteRange(500, 899, "body"), EOF]),
        ([], [HEADER, ByteRange(100, 1037, "body")]),
    ],
)
def test_ranges_cover_the_containers_overlapping_each_region(
    regions: list[tuple[int, int | None, int | None]], expected: list[ByteRange]
) -> None:
    assert cram_byte_ranges(LAYOUT, regions) == expected


def test_the_header_alone() -> None:
    assert cram_byte_ranges(LAYOUT, [(0, 0, 10)], header_only=True) == [HEADER]
    assert HEADER.header_value == "bytes=0-99"


def _cram(path: Path, body: bytes) -> Path:
    path.write_bytes(b"CRAM\x03\x00" + body + CRAM_EOF_V3)
    return path


def test_the_layout_reads_the_index_and_finds_the_eof_container(tmp_path: Path) -> None:
    data = _cram(tmp_path / "a.cram", b"x" * 94)
    index = tmp_path / "a.cram.crai"
    index.write_bytes(gzip.compress(b"0\t1\t50\t20\t10\t30\n0\t51\t50\t60\t10\t30\n"))

    layout = cram_layout(data, index)

    assert layout == CramLayout(138, 100, (CramSlice(0, 1, 50, 20), CramSlice(0, 51, 50, 60)))


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not gzip", "Not a gzipped file"),
        (gzip.compress(b"0\t1\t50\n"), "line 1 has 3 fields, not 6"),
        (gzip.compress(b"0\t1\tfifty\t20\t10\t30\n"), "line 1 is not numbers"),
        (gzip.compress(b"0\t1\t50\t5000\t10\t30\n"), "a container offset lies outside the file"),
    ],
)
def test_an_unreadable_index_is_refused_with_what_to_do(
    tmp_path: Path, content: bytes, why: str
) -> None:
    data = _cram(tmp_path / "a.cram", b"x" * 94)
    index = tmp_path / "a.cram.crai"
    index.write_bytes(content)

    with pytest.raises(GenomicFileError) as refused:
        cram_layout(data, index)

    message = str(refused.value)
    assert message.startswith("a.cram.crai: the CRAM index cannot be read (")
    assert why in message
    assert message.endswith("re-index the file with `samtools index` and register the index again.")
