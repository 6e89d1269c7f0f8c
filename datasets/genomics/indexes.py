"""Indexes (BAI, CRAI, TBI, CSI): finding, parsing and checking them against the data,
and the record counts they give cheaply."""

from __future__ import annotations

import gzip
import itertools
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

from datasets.genomics.formats import (
    _REINDEX,
    FileFormat,
    GenomicFileError,
    PathArg,
    Problem,
    Severity,
    _contig_names,
    _detect,
    _htslib_detail,
    _htslib_quiet,
    _is_bgzf_block,
    _open_data,
    _os_error,
    _read_at,
    _shown,
    _stat_file,
    _unknown_message,
    detect_format,
)

# BAI and TBI put per-reference statistics in this pseudo-bin; CSI computes it from depth.
_BAI_PSEUDO_BIN = 37450
# Enough records to prove the index points at real records of the right contig, and few
# enough that checking a whole-genome file costs milliseconds.
_FETCH_SAMPLE = 1000
# Records at one position: deep coverage, bounded so a pile-up cannot stall a check.
_REGION_SAMPLE = 100_000


@dataclass(frozen=True)
class IndexCheck:
    path: Path
    data_format: FileFormat
    index_path: Path | None
    index_format: FileFormat | None
    stale: bool
    matches: bool | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return self.index_path is not None and not self.problems


# ------------------------------------------------------------------------------- indexes


@dataclass(frozen=True)
class _RefStats:
    begin: int  # virtual offset of the first record
    end: int  # virtual offset just past the last record
    mapped: int
    unmapped: int


@dataclass(frozen=True)
class _BinIndex:
    format: FileFormat
    n_ref: int
    names: tuple[str, ...] | None
    refs: tuple[_RefStats | None, ...]
    no_coordinate: int | None

    @property
    def record_count(self) -> int:
        placed = sum(r.mapped + r.unmapped for r in self.refs if r is not None)
        return placed + (self.no_coordinate or 0)


@dataclass(frozen=True)
class _CraiEntry:
    ref_id: int
    start: int
    span: int
    container_offset: int
    slice_offset: int
    slice_size: int


def _tabix_names(blob: bytes) -> tuple[str, ...]:
    return tuple(n.decode("utf-8", "replace") for n in blob.split(b"\x00") if n)


def _parse_bin_index(raw: bytes, fmt: FileFormat) -> _BinIndex:
    """BAI, TBI or CSI (SAMv1 §5, tabix spec, CSIv1): names and per-reference statistics."""
    data = raw if fmt is FileFormat.BAI else gzip.decompress(raw)
    names: tuple[str, ...] | None = None
    if fmt is FileFormat.CSI:
        _min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
        aux = data[16 : 16 + l_aux]
        if l_aux >= 28:
            (l_nm,) = struct.unpack_from("<i", aux, 24)
            names = _tabix_names(aux[28 : 28 + l_nm])
        offset = 16 + l_aux
        (n_ref,) = struct.unpack_from("<i", data, offset)
        offset += 4
        pseudo_bin = ((1 << (3 * depth + 3)) - 1) // 7 + 1
    elif fmt is FileFormat.TBI:
        (n_ref,) = struct.unpack_from("<i", data, 4)
        (l_nm,) = struct.unpack_from("<i", data, 32)
        names = _tabix_names(data[36 : 36 + l_nm])
        offset = 36 + l_nm
        pseudo_bin = _BAI_PSEUDO_BIN
    else:
        (n_ref,) = struct.unpack_from("<i", data, 4)
        offset = 8
        pseudo_bin = _BAI_PSEUDO_BIN
    is_csi = fmt is FileFormat.CSI
    refs: list[_RefStats | None] = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, offset)
        offset += 4
        stats: _RefStats | None = None
        for _ in range(n_bin):
            (bin_id,) = struct.unpack_from("<I", data, offset)
            offset += 12 if is_csi else 4  # CSI bins also carry a loffset
            (n_chunk,) = struct.unpack_from("<i", data, offset)
            offset += 4
            if bin_id == pseudo_bin and n_chunk == 2:
                stats = _RefStats(*struct.unpack_from("<QQQQ", data, offset))
            offset += 16 * n_chunk
        if not is_csi:
            (n_intv,) = struct.unpack_from("<i", data, offset)
            offset += 4 + 8 * n_intv
        refs.append(stats)
    no_coordinate = struct.unpack_from("<Q", data, offset)[0] if offset + 8 <= len(data) else None
    if names is not None and len(names) != n_ref:
        raise ValueError(f"{len(names)} names for {n_ref} reference sequences")
    return _BinIndex(fmt, n_ref, names, tuple(refs), no_coordinate)


def _parse_crai(raw: bytes) -> tuple[_CraiEntry, ...]:
    try:
        text = gzip.decompress(raw).decode("ascii")
        return tuple(_CraiEntry(*map(int, line.split("\t"))) for line in text.splitlines() if line)
    except (gzip.BadGzipFile, EOFError, zlib.error, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(f"its CRAI structure cannot be read: {exc}") from exc


def _itf8(buf: bytes, i: int) -> tuple[int, int]:
    c = buf[i]
    if c < 0x80:
        return c, i + 1
    if c < 0xC0:
        return ((c & 0x3F) << 8) | buf[i + 1], i + 2
    if c < 0xE0:
        return ((c & 0x1F) << 16) | (buf[i + 1] << 8) | buf[i + 2], i + 3
    if c < 0xF0:
        return ((c & 0x0F) << 24) | int.from_bytes(buf[i + 1 : i + 4], "big"), i + 4
    value = ((c & 0x0F) << 28) | (int.from_bytes(buf[i + 1 : i + 4], "big") << 4)
    value |= buf[i + 4] & 0x0F
    return (value - (1 << 32) if value >= 1 << 31 else value), i + 5


def _ltf8(buf: bytes, i: int) -> tuple[int, int]:
    c = buf[i]
    extra = 0
    while extra < 8 and c & (0x80 >> extra):
        extra += 1
    if extra == 8:
        return int.from_bytes(buf[i + 1 : i + 9], "big"), i + 9
    value = c & (0xFF >> (extra + 1))
    for k in range(extra):
        value = (value << 8) | buf[i + 1 + k]
    return value, i + 1 + extra


@dataclass(frozen=True)
class _Container:
    ref_id: int
    n_records: int
    record_counter: int


def _read_container(path: Path, offset: int, major_version: int) -> _Container:
    buf = _read_at(path, offset, 64)
    i = 4  # int32 length
    ref_id, i = _itf8(buf, i)
    _start, i = _itf8(buf, i)
    _span, i = _itf8(buf, i)
    n_records, i = _itf8(buf, i)
    counter, i = _ltf8(buf, i) if major_version >= 3 else _itf8(buf, i)
    return _Container(ref_id, n_records, counter)


def _index_candidates(path: Path, fmt: FileFormat) -> tuple[Path, ...]:
    """Where htslib looks for an index: x.bam.bai, x.bai, x.bam.csi, x.csi and the like."""
    name = path.name
    appended = [path.with_name(f"{name}.{kind.value}") for kind in fmt.index_formats]
    if fmt in (FileFormat.BAM, FileFormat.CRAM):
        stem = path.name.rsplit(".", 1)[0] if "." in path.name else None
        if stem is not None:
            replaced = [path.with_name(f"{stem}.{kind.value}") for kind in fmt.index_formats]
            # htslib's order: x.bam.bai, x.bai, then x.bam.csi, x.csi
            return tuple(itertools.chain.from_iterable(zip(appended, replaced, strict=True)))
    return tuple(appended)


def find_index(path: PathArg) -> Path | None:
    """The first conventionally named index beside the file that exists, or None."""
    p = Path(path)
    fmt = detect_format(p)
    return next((c for c in _index_candidates(p, fmt) if c.is_file()), None)


def _read_index(index_path: Path) -> bytes:
    try:
        return index_path.read_bytes()
    except OSError as exc:
        raise _os_error(index_path, exc) from exc


def _load_bin_index(index_path: Path, fmt: FileFormat) -> _BinIndex:
    raw = _read_index(index_path)
    try:
        return _parse_bin_index(raw, fmt)
    # BadGzipFile is an OSError, but here it means a damaged index, not an unreadable one.
    except (struct.error, ValueError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"its {fmt.label} structure cannot be read: {exc}") from exc


def _record_key(record: object) -> tuple[str, int, str]:
    if isinstance(record, pysam.AlignedSegment):
        return (record.reference_name or "*", record.reference_start, record.query_name or "")
    if isinstance(record, pysam.VariantRecord):
        return (record.chrom, record.start, f"{record.ref}>{','.join(record.alts or ())}")
    raise TypeError(f"not a record: {record!r}")


def _probe_contig(
    f: pysam.AlignmentFile | pysam.VariantFile, contig: str, expected: int | None
) -> str | None:
    keys: list[tuple[str, int, str]] = []
    for record in itertools.islice(f.fetch(contig), _FETCH_SAMPLE):
        key = _record_key(record)
        if key[0] != contig:
            return f"reading {contig} through it returned a record on {key[0]}"
        if keys and key[1] < keys[-1][1]:
            return f"reading {contig} through it returned records out of order"
        keys.append(key)
    if not keys:
        return f"reading {contig} through it returned no records"
    if expected is not None and len(keys) < _FETCH_SAMPLE and len(keys) != expected:
        return (
            f"reading {contig} through it returned {len(keys):,} records "
            f"but the index counts {expected:,}"
        )
    # Whole-contig reads only use the first offset; region queries go through the bins and
    # the linear index, which an index of other data gets wrong while the counts still agree.
    for key in dict.fromkeys((keys[0], keys[len(keys) // 2], keys[-1])):
        nearby = itertools.islice(f.fetch(contig, key[1], key[1] + 1), _REGION_SAMPLE)
        if not any(_record_key(r) == key for r in nearby):
            return f"a region query at {contig}:{key[1] + 1:,} misses the record there"
    return None


def _fetch_problem(
    path: Path,
    fmt: FileFormat,
    index_path: Path,
    probes: Sequence[tuple[str, int | None]],
) -> str | None:
    """Read each (contig, expected count) through the index; a disagreement as text."""
    with _htslib_quiet():
        try:
            handle = _open_data(path, fmt, index_path=index_path)
        except (OSError, ValueError) as exc:
            _open_data(path, fmt).close()  # raises if the data, not the index, is at fault
            return f"htslib cannot load it: {_htslib_detail(exc)}"
        contig = ""
        try:
            with handle as f:
                for contig, expected in probes:
                    problem = _probe_contig(f, contig, expected)
                    if problem:
                        return problem
        except (OSError, ValueError, KeyError) as exc:
            return f"reading {contig} through it failed: {_htslib_detail(exc)}"
    return None


def _bgzf_offset_problem(path: Path, size: int, index: _BinIndex) -> str | None:
    try:
        with path.open("rb") as f:
            for stats in index.refs:
                if stats is None:
                    continue
                begin, end = stats.begin >> 16, stats.end >> 16
                if end > size or begin >= size:
                    return f"it points to byte {max(begin, end):,} but the file has {size:,} bytes"
                f.seek(begin)
                if not _is_bgzf_block(f.read(18)):
                    return f"it points to byte {begin:,}, which is not the start of a block"
    except OSError as exc:
        raise _os_error(path, exc) from exc
    return None


def _bin_index_content_problem(
    path: Path, fmt: FileFormat, size: int, index_path: Path, index_format: FileFormat
) -> str | None:
    index = _load_bin_index(index_path, index_format)
    if fmt is FileFormat.BAM:
        names = _contig_names(path, fmt)
        if index.n_ref != len(names):
            return f"it describes {index.n_ref} reference sequences but the header has {len(names)}"
    else:
        names = index.names or _contig_names(path, fmt)
        if index.names is None and index.n_ref > len(names):
            return f"it describes {index.n_ref} reference sequences but the header has {len(names)}"
    problem = _bgzf_offset_problem(path, size, index)
    if problem:
        return problem
    placed = [
        (names[tid], stats.mapped + stats.unmapped)
        for tid, stats in enumerate(index.refs)
        if stats is not None and stats.mapped + stats.unmapped > 0
    ]
    probes = placed[:1] + placed[-1:] if len(placed) > 1 else placed
    return _fetch_problem(path, fmt, index_path, probes)


def _crai_content_problem(path: Path, size: int, index_path: Path) -> str | None:
    entries = _parse_crai(_read_index(index_path))
    if not entries:
        return None
    major = _read_at(path, 4, 1)[0]
    ordered = sorted(entries, key=lambda e: e.container_offset)
    for entry in (ordered[0], ordered[-1]):
        if entry.container_offset >= size:
            return f"it points to byte {entry.container_offset:,} but the file has {size:,} bytes"
        try:
            container = _read_container(path, entry.container_offset, major)
        except IndexError:
            container = None
        # -2 marks a container holding several references.
        if container is None or container.ref_id not in (entry.ref_id, -2):
            return (
                f"it points to byte {entry.container_offset:,}, "
                "which is not the start of a matching container"
            )
    names = _contig_names(path, FileFormat.CRAM)
    placed = sorted({e.ref_id for e in entries if 0 <= e.ref_id < len(names)})
    if not placed:
        return None
    probes = [(names[placed[0]], None)]
    if len(placed) > 1:
        probes.append((names[placed[-1]], None))
    return _fetch_problem(path, FileFormat.CRAM, index_path, probes)


def check_index(path: PathArg, index_path: PathArg | None = None) -> IndexCheck:
    """Whether the file has an index of the right kind that matches it.

    Checks, in order: an index exists (``index_path`` or a conventional name); it is an
    index of a kind that applies to the data; it is not older than the data; its content
    agrees with the data (reference count, offsets that land on block or container
    starts, and reading the first and last indexed contigs through it returns records of
    that contig, in the number the index counts when that number is small).
    """
    p = Path(path)
    st = _stat_file(p)
    fmt, description = _detect(p)
    problems: list[Problem] = []

    def result(
        idx: Path | None, idx_fmt: FileFormat | None, *, stale: bool = False, ok: bool | None
    ) -> IndexCheck:
        return IndexCheck(p, fmt, idx, idx_fmt, stale, ok, tuple(problems))

    if not fmt.needs_index:
        if fmt is FileFormat.VCF:
            problems.append(
                Problem(
                    Severity.WARNING,
                    "not-indexable",
                    f"{p}: an uncompressed VCF cannot be indexed for region queries; "
                    "compress it with bgzip and index it with bcftools index --tbi",
                )
            )
        elif fmt.is_index:
            problems.append(
                Problem(Severity.FATAL, "not-data", f"{p}: this is a {fmt.label} index, not data")
            )
        else:
            problems.append(
                Problem(Severity.FATAL, "unknown-format", _unknown_message(p, description))
            )
        return result(None, None, ok=None)

    reindex = _REINDEX[fmt]
    if index_path is None:
        candidates = _index_candidates(p, fmt)
        idx = next((c for c in candidates if c.is_file()), None)
        if idx is None:
            looked = ", ".join(c.name for c in candidates)
            problems.append(
                Problem(
                    Severity.WARNING,
                    "index-missing",
                    f"{p}: no index found (looked for {looked}); create one with {reindex}",
                )
            )
            return result(None, None, ok=None)
    else:
        idx = Path(index_path)
        if not idx.is_file():
            problems.append(
                Problem(
                    Severity.WARNING,
                    "index-missing",
                    f"{p}: the index {_shown(idx, p)} does not exist; create one with {reindex}",
                )
            )
            return result(None, None, ok=None)

    shown = _shown(idx, p)
    idx_fmt, idx_description = _detect(idx)
    if idx_fmt not in fmt.index_formats:
        expected = " or ".join(k.label for k in fmt.index_formats)
        if idx_fmt.is_index:
            text = (
                f"{p}: the index {shown} is a {idx_fmt.label} index, which does not apply to "
                f"{fmt.label} data (expected {expected}); re-index with {reindex}"
            )
        else:
            text = (
                f"{p}: the index {shown} is not an index (the content is {idx_description}); "
                f"re-index with {reindex}"
            )
        problems.append(Problem(Severity.FATAL, "index-wrong-kind", text))
        return result(idx, idx_fmt, ok=False)

    stale = _stat_file(idx).st_mtime_ns < st.st_mtime_ns
    if stale:
        problems.append(
            Problem(
                Severity.WARNING,
                "index-stale",
                f"{p}: the index {shown} is older than the data file (stale); "
                f"re-index with {reindex}",
            )
        )
    try:
        if idx_fmt is FileFormat.CRAI:
            detail = _crai_content_problem(p, st.st_size, idx)
        else:
            detail = _bin_index_content_problem(p, fmt, st.st_size, idx, idx_fmt)
    except OSError as exc:
        raise _os_error(p, exc) from exc
    except GenomicFileError:
        raise
    except ValueError as exc:
        problems.append(
            Problem(
                Severity.FATAL,
                "index-damaged",
                f"{p}: the index {shown} is damaged ({exc}); re-index with {reindex}",
            )
        )
        return result(idx, idx_fmt, stale=stale, ok=False)
    if detail:
        problems.append(
            Problem(
                Severity.FATAL,
                "index-mismatch",
                f"{p}: the index {shown} does not match the data file ({detail}); "
                f"re-index with {reindex}",
            )
        )
    return result(idx, idx_fmt, stale=stale, ok=detail is None)


def _usable_index(path: Path, fmt: FileFormat) -> tuple[Path, FileFormat] | None:
    """An index cheap statistics can be read from: right kind and not older than the data."""
    try:
        data_mtime = path.stat().st_mtime_ns
        for candidate in _index_candidates(path, fmt):
            if candidate.is_file():
                idx_fmt = detect_format(candidate)
                fresh = candidate.stat().st_mtime_ns >= data_mtime
                return (candidate, idx_fmt) if idx_fmt in fmt.index_formats and fresh else None
    except (OSError, GenomicFileError):
        return None
    return None


def _record_count_from_bin_index(path: Path, fmt: FileFormat, n_contigs: int) -> int | None:
    found = _usable_index(path, fmt)
    if found is None or found[1] is FileFormat.CRAI:
        return None
    try:
        index = _load_bin_index(*found)
    except (OSError, ValueError):
        return None
    if fmt is FileFormat.BAM and index.n_ref != n_contigs:
        return None
    return index.record_count


def _record_count_from_crai(path: Path) -> int | None:
    found = _usable_index(path, FileFormat.CRAM)
    if found is None:
        return None
    try:
        entries = _parse_crai(_read_index(found[0]))
        if not entries:
            return 0
        last = max(e.container_offset for e in entries)
        container = _read_container(path, last, _read_at(path, 4, 1)[0])
    except (OSError, ValueError, IndexError, EOFError, zlib.error, GenomicFileError):
        return None
    # Containers number their records from the start of the file, so the last one indexed
    # gives the total without reading any data.
    return container.record_counter + container.n_records
