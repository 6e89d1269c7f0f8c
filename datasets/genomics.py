"""Checks on genomic data files (BAM, CRAM, VCF, VCF.gz, BCF) and their indexes.

Pure functions over a path, built on pysam/htslib. No Django here: the same checks run in
a Celery worker, a management command and the benchmark. Every failure a caller can act
on is a ``GenomicFileError`` (or, in ``validate``, a ``Problem``) whose message names the
file and says what to do.
"""

from __future__ import annotations

import contextlib
import enum
import gzip
import hashlib
import io
import itertools
import os
import queue
import re
import stat
import struct
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pysam

PathArg = str | os.PathLike[str]
ProgressCallback = Callable[[int, int], None]

CHECKSUM_CHUNK_SIZE = 4 * 1024 * 1024
CHECKSUM_PROGRESS_EVERY = 64 * 1024 * 1024

_HEAD_BYTES = 128 * 1024
_BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_GZIP_MAGIC = b"\x1f\x8b\x08"
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CRAM_EOF_V3 = bytes.fromhex(
    "0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b"
)
CRAM_EOF_V2 = bytes.fromhex("0b000000ffffffff0fe0454f460000000001000001000606010001000100")
# BAI and TBI put per-reference statistics in this pseudo-bin; CSI computes it from depth.
_BAI_PSEUDO_BIN = 37450
# Enough records to prove the index points at real records of the right contig, and few
# enough that checking a whole-genome file costs milliseconds.
_FETCH_SAMPLE = 1000
# Records at one position: deep coverage, bounded so a pile-up cannot stall a check.
_REGION_SAMPLE = 100_000
_MAX_RAW_HEADER = 256 * 1024 * 1024


class GenomicFileError(ValueError):
    """A genomic file cannot be used as it is; ``str(error)`` is the message for a person."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class FileFormat(enum.StrEnum):
    BAM = "bam"
    CRAM = "cram"
    VCF_GZ = "vcf.gz"
    BCF = "bcf"
    VCF = "vcf"
    BAI = "bai"
    CRAI = "crai"
    TBI = "tbi"
    CSI = "csi"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_data(self) -> bool:
        return self in _DATA_FORMATS

    @property
    def is_index(self) -> bool:
        return self in _INDEX_FORMATS

    @property
    def needs_index(self) -> bool:
        """Region queries (htsget, slicing) on this format need an index beside it."""
        return bool(_INDEX_KINDS.get(self))

    @property
    def index_formats(self) -> tuple[FileFormat, ...]:
        return _INDEX_KINDS.get(self, ())


_LABELS: dict[FileFormat, str] = {
    FileFormat.BAM: "BAM",
    FileFormat.CRAM: "CRAM",
    FileFormat.VCF_GZ: "VCF.gz",
    FileFormat.BCF: "BCF",
    FileFormat.VCF: "VCF",
    FileFormat.BAI: "BAI",
    FileFormat.CRAI: "CRAI",
    FileFormat.TBI: "TBI",
    FileFormat.CSI: "CSI",
    FileFormat.UNKNOWN: "unknown",
}
_DATA_FORMATS = frozenset(
    {FileFormat.BAM, FileFormat.CRAM, FileFormat.VCF_GZ, FileFormat.BCF, FileFormat.VCF}
)
_INDEX_FORMATS = frozenset({FileFormat.BAI, FileFormat.CRAI, FileFormat.TBI, FileFormat.CSI})
_INDEX_KINDS: dict[FileFormat, tuple[FileFormat, ...]] = {
    FileFormat.BAM: (FileFormat.BAI, FileFormat.CSI),
    FileFormat.CRAM: (FileFormat.CRAI,),
    FileFormat.VCF_GZ: (FileFormat.TBI, FileFormat.CSI),
    FileFormat.BCF: (FileFormat.CSI,),
}
_REINDEX: dict[FileFormat, str] = {
    FileFormat.BAM: "samtools index",
    FileFormat.CRAM: "samtools index",
    FileFormat.VCF_GZ: "bcftools index --tbi",
    FileFormat.BCF: "bcftools index",
}
_NAME_SUFFIXES: tuple[tuple[str, FileFormat], ...] = (
    (".vcf.gz", FileFormat.VCF_GZ),
    (".vcf.bgz", FileFormat.VCF_GZ),
    (".bam", FileFormat.BAM),
    (".cram", FileFormat.CRAM),
    (".bcf", FileFormat.BCF),
    (".vcf", FileFormat.VCF),
    (".bai", FileFormat.BAI),
    (".crai", FileFormat.CRAI),
    (".tbi", FileFormat.TBI),
    (".csi", FileFormat.CSI),
)


class ReferenceGenome(enum.StrEnum):
    GRCH38 = "GRCh38"
    GRCH37 = "GRCh37"
    UNKNOWN = "unknown"


class Severity(enum.StrEnum):
    FATAL = "fatal"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding. FATAL: the file must not be registered or served as it is.
    WARNING: usable, but something should be fixed (usually by re-indexing)."""

    severity: Severity
    code: str
    message: str


@dataclass(frozen=True)
class Contig:
    name: str
    length: int | None


@dataclass(frozen=True)
class HeaderInfo:
    path: Path
    format: FileFormat
    contigs: tuple[Contig, ...]
    reference_genome: ReferenceGenome
    reference_evidence: str
    samples: tuple[str, ...]
    record_count: int | None


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


@dataclass(frozen=True)
class Checksums:
    size: int
    sha256: str
    md5: str


@dataclass(frozen=True)
class ValidationReport:
    path: Path
    format: FileFormat
    size: int | None
    complete: bool | None
    header: HeaderInfo | None
    index: IndexCheck | None
    checksums: Checksums | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.fatal

    @property
    def fatal(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.FATAL)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(p.message for p in self.problems)


# --------------------------------------------------------------------------- file access


def _os_error(path: Path, exc: OSError) -> GenomicFileError:
    if isinstance(exc, FileNotFoundError):
        return GenomicFileError(f"{path}: no such file", code="missing")
    if isinstance(exc, IsADirectoryError):
        return GenomicFileError(f"{path}: is a directory, not a file", code="not-a-file")
    if isinstance(exc, PermissionError):
        return GenomicFileError(f"{path}: cannot be read (permission denied)", code="unreadable")
    return GenomicFileError(f"{path}: cannot be read ({exc.strerror or exc})", code="unreadable")


def _stat_file(path: Path) -> os.stat_result:
    try:
        st = path.stat()
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if stat.S_ISDIR(st.st_mode):
        raise GenomicFileError(f"{path}: is a directory, not a file", code="not-a-file")
    return st


def _read_at(path: Path, offset: int, length: int) -> bytes:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read(length)
    except OSError as exc:
        raise _os_error(path, exc) from exc


def _read_tail(path: Path, length: int) -> bytes:
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - length))
            return f.read(length)
    except OSError as exc:
        raise _os_error(path, exc) from exc


def _shown(index_path: Path, data_path: Path) -> str:
    return index_path.name if index_path.parent == data_path.parent else str(index_path)


@contextlib.contextmanager
def _htslib_quiet() -> Iterator[None]:
    # htslib reports every failure on stderr as well as through its return codes; we turn
    # the failures into messages, so its own lines would only clutter a worker's log.
    # pysam's ignore_truncation warnings are dropped for the same reason: truncation is
    # reported by the EOF check.
    previous = pysam.set_verbosity(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pysam.set_verbosity(previous)


# ----------------------------------------------------------------------- format detection


def _gunzip_prefix(data: bytes, limit: int = 65536) -> bytes | None:
    """The start of the decompressed content, following members past empty ones;
    None when the data is damaged or ends before yielding anything."""
    out = bytearray()
    while data[:3] == _GZIP_MAGIC and len(out) < 64:
        decompressor = zlib.decompressobj(31)
        try:
            out += decompressor.decompress(data, limit)
        except zlib.error:
            return bytes(out) if out else None
        if not decompressor.eof:
            cut_short = not decompressor.unconsumed_tail
            return None if cut_short and not out else bytes(out)
        data = decompressor.unused_data
    return bytes(out)


def _is_bgzf_block(head: bytes) -> bool:
    if len(head) < 18 or head[:4] != _BGZF_MAGIC:
        return False
    xlen = int.from_bytes(head[10:12], "little")
    extra = head[12 : 12 + xlen]
    pos = 0
    while pos + 4 <= len(extra):
        sub_len = int.from_bytes(extra[pos + 2 : pos + 4], "little")
        if extra[pos : pos + 2] == b"BC" and sub_len == 2:
            return True
        pos += 4 + sub_len
    return False


_GZIP_VCF = "VCF compressed with gzip instead of bgzip"
_CRAI_LINE = re.compile(rb"-?\d+\t-?\d+\t-?\d+\t\d+\t\d+\t\d+")


def _looks_like_crai(payload: bytes) -> bool:
    lines = payload.split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the prefix may end mid-line
    return bool(lines[0]) and all(_CRAI_LINE.fullmatch(line) for line in lines[:50])


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    printable = sum(1 for b in head[:4096] if b >= 32 or b in b"\t\r\n")
    return printable >= 0.95 * min(len(head), 4096)


def _sniff(head: bytes) -> tuple[FileFormat, str]:
    """The format of content starting with ``head``, and a description for unknown content."""
    if not head:
        return FileFormat.UNKNOWN, "empty"
    if head.startswith(b"CRAM") and len(head) >= 6 and head[4] in (1, 2, 3, 4):
        return FileFormat.CRAM, "CRAM"
    if head.startswith(b"BAI\x01"):
        return FileFormat.BAI, "BAI"
    if head.startswith(b"BCF\x02"):
        return FileFormat.BCF, "uncompressed BCF"
    if head.startswith(b"##fileformat=VCF"):
        return FileFormat.VCF, "VCF text"
    if head[:3] == _GZIP_MAGIC:
        payload = _gunzip_prefix(head)
        if payload is None:
            return FileFormat.UNKNOWN, "gzip data that is damaged or cut short"
        if _is_bgzf_block(head):
            for magic, fmt in (
                (b"BAM\x01", FileFormat.BAM),
                (b"BCF\x02", FileFormat.BCF),
                (b"TBI\x01", FileFormat.TBI),
                (b"CSI\x01", FileFormat.CSI),
                (b"##fileformat=VCF", FileFormat.VCF_GZ),
            ):
                if payload.startswith(magic):
                    return fmt, fmt.label
        elif payload.startswith(b"##fileformat=VCF"):
            return FileFormat.UNKNOWN, _GZIP_VCF
        if payload and _looks_like_crai(payload):
            return FileFormat.CRAI, "CRAI"
        if not payload:
            return FileFormat.UNKNOWN, "compressed data with nothing inside"
        return FileFormat.UNKNOWN, "compressed data of another kind"
    if _looks_like_text(head):
        return FileFormat.UNKNOWN, "plain text"
    return FileFormat.UNKNOWN, "binary data of an unknown kind"


def _detect(path: Path) -> tuple[FileFormat, str]:
    _stat_file(path)
    return _sniff(_read_at(path, 0, _HEAD_BYTES))


def detect_format(path: PathArg) -> FileFormat:
    """The format of the file's content; the name is never consulted.

    Returns ``FileFormat.UNKNOWN`` for content of no recognised kind (including an empty
    file); raises ``GenomicFileError`` if the path is missing or cannot be read.
    """
    return _detect(Path(path))[0]


def format_from_name(path: PathArg) -> FileFormat | None:
    """What the file name claims, for messages only: detection never trusts it."""
    name = Path(path).name.lower()
    for suffix, fmt in _NAME_SUFFIXES:
        if name.endswith(suffix):
            return fmt
    return None


def _unknown_message(path: Path, description: str) -> str:
    if description == _GZIP_VCF:
        return (
            f"{path}: the VCF is compressed with gzip instead of bgzip, so it cannot be "
            "indexed; recompress it with bgzip"
        )
    claimed = format_from_name(path)
    if claimed is not None:
        return (
            f"{path}: named like a {claimed.label} file, but the content is {description}, "
            "not a recognised genomic format"
        )
    return f"{path}: not a recognised genomic file (the content is {description})"


# ---------------------------------------------------------------------------- EOF markers


def check_bgzf_eof(path: PathArg) -> bool:
    """True if the file ends with the 28-byte BGZF end-of-file block.

    Writers append it last, so a file cut short by an interrupted copy lacks it.
    """
    p = Path(path)
    _stat_file(p)
    return _read_tail(p, len(BGZF_EOF)) == BGZF_EOF


def check_cram_eof(path: PathArg) -> bool:
    """True if a CRAM file ends with its version's end-of-file container."""
    p = Path(path)
    _stat_file(p)
    head = _read_at(p, 0, 6)
    if not head.startswith(b"CRAM") or len(head) < 6:
        return False
    if head[4] == 1:
        return True  # CRAM 1.x defined no end-of-file container
    marker = CRAM_EOF_V2 if head[4] == 2 else CRAM_EOF_V3
    return _read_tail(p, len(marker)) == marker


def check_eof(path: PathArg) -> bool | None:
    """End-of-file marker present (True/False), or None where the format has none."""
    p = Path(path)
    fmt = detect_format(p)
    if fmt is FileFormat.CRAM:
        return check_cram_eof(p)
    if fmt in (FileFormat.BAM, FileFormat.VCF_GZ, FileFormat.TBI, FileFormat.CSI):
        return check_bgzf_eof(p)
    if fmt is FileFormat.BCF and _read_at(p, 0, 3) == _GZIP_MAGIC:
        return check_bgzf_eof(p)
    return None


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


HtsFile = pysam.AlignmentFile | pysam.VariantFile

_HTSLIB_PHRASES: tuple[tuple[str, str], ...] = (
    ("does not have valid header", "htslib does not accept the header"),
    ("truncated file", "the data ends unexpectedly"),
    ("no BGZF EOF marker", "the data ends unexpectedly"),
)


def _htslib_detail(exc: BaseException) -> str:
    """pysam's messages quote byte strings and modes; say what they mean instead."""
    text = str(exc)
    return next((plain for phrase, plain in _HTSLIB_PHRASES if phrase in text), text)


def _header_error(path: Path, fmt: FileFormat, exc: BaseException) -> GenomicFileError:
    if fmt in (FileFormat.VCF, FileFormat.VCF_GZ, FileFormat.BCF):
        # htslib refuses a header with duplicate samples without saying so through pysam:
        # read the header ourselves to name them.
        try:
            duplicates = _duplicates(_vcf_samples_from_text(_raw_vcf_header(path, fmt)))
        except GenomicFileError as error:
            return error
        if duplicates:
            return _duplicate_samples_error(path, duplicates)
    return GenomicFileError(
        f"{path}: the {fmt.label} header cannot be read ({_htslib_detail(exc)})",
        code="header-unreadable",
    )


def _open_failed(
    path: Path, fmt: FileFormat, exc: Exception, index_path: Path | None
) -> GenomicFileError:
    # Without an index a failure is the data's; with one, the caller decides, since the
    # index may be the cause.
    if index_path is not None:
        raise exc
    return _header_error(path, fmt, exc)


def _open_alignments(
    path: Path,
    fmt: FileFormat,
    *,
    index_path: Path | None = None,
    reference_path: Path | None = None,
    decode_sequences: bool = False,
) -> pysam.AlignmentFile:
    options: list[str] | None = None
    if fmt is FileFormat.CRAM and not decode_sequences:
        # Names, flags and positions decode without the reference: no reference download
        # is attempted and a check needs no FASTA.
        options = ["required_fields=0xF"]
    try:
        return pysam.AlignmentFile(
            str(path),
            "rc" if fmt is FileFormat.CRAM else "rb",
            index_filename=str(index_path) if index_path else None,
            reference_filename=str(reference_path) if reference_path else None,
            check_sq=False,
            ignore_truncation=True,
            format_options=options,
        )
    except (OSError, ValueError) as exc:
        raise _open_failed(path, fmt, exc, index_path) from exc


def _open_variants(
    path: Path, fmt: FileFormat, *, index_path: Path | None = None
) -> pysam.VariantFile:
    try:
        return pysam.VariantFile(
            str(path),
            index_filename=str(index_path) if index_path else None,
            ignore_truncation=True,
        )
    except (OSError, ValueError) as exc:
        raise _open_failed(path, fmt, exc, index_path) from exc


def _open_data(path: Path, fmt: FileFormat, *, index_path: Path | None = None) -> HtsFile:
    if fmt in (FileFormat.BAM, FileFormat.CRAM):
        return _open_alignments(path, fmt, index_path=index_path)
    return _open_variants(path, fmt, index_path=index_path)


def _contig_names(path: Path, fmt: FileFormat) -> tuple[str, ...]:
    """Reference names in the order index entries number them."""
    with _htslib_quiet(), _open_data(path, fmt) as f:
        if isinstance(f, pysam.AlignmentFile):
            return tuple(f.references)
        return tuple(str(name) for name in f.header.contigs)


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


# -------------------------------------------------------------------------------- headers

_GRCH38_LENGTHS: dict[str, int] = {
    "1": 248_956_422, "2": 242_193_529, "3": 198_295_559, "4": 190_214_555,
    "5": 181_538_259, "6": 170_805_979, "7": 159_345_973, "8": 145_138_636,
    "9": 138_394_717, "10": 133_797_422, "11": 135_086_622, "12": 133_275_309,
    "13": 114_364_328, "14": 107_043_718, "15": 101_991_189, "16": 90_338_345,
    "17": 83_257_441, "18": 80_373_285, "19": 58_617_616, "20": 64_444_167,
    "21": 46_709_983, "22": 50_818_468, "X": 156_040_895, "Y": 57_227_415,
}  # fmt: skip
_GRCH37_LENGTHS: dict[str, int] = {
    "1": 249_250_621, "2": 243_199_373, "3": 198_022_430, "4": 191_154_276,
    "5": 180_915_260, "6": 171_115_067, "7": 159_138_663, "8": 146_364_022,
    "9": 141_213_431, "10": 135_534_747, "11": 135_006_516, "12": 133_851_895,
    "13": 115_169_878, "14": 107_349_540, "15": 102_531_392, "16": 90_354_753,
    "17": 81_195_210, "18": 78_077_248, "19": 59_128_983, "20": 63_025_520,
    "21": 48_129_895, "22": 51_304_566, "X": 155_270_560, "Y": 59_373_566,
}  # fmt: skip
_BUILD_PATTERNS: tuple[tuple[ReferenceGenome, re.Pattern[str]], ...] = (
    (ReferenceGenome.GRCH38, re.compile(r"grch38|hg38|hs38|\bb38\b", re.IGNORECASE)),
    (
        ReferenceGenome.GRCH37,
        re.compile(r"grch37|hg19|hs37|\bb37\b|human_g1k_v37", re.IGNORECASE),
    ),
)


def guess_reference(
    contigs: Sequence[Contig], declared: Sequence[tuple[str, str]] = ()
) -> tuple[ReferenceGenome, str]:
    """The build, from primary chromosome lengths first, then from declared names.

    ``declared`` holds (source, text) pairs such as ("@SQ AS", "GRCh38"). Lengths win
    because they cannot be mislabelled; chrM is ignored (16,569 in both builds).
    """
    votes = {ReferenceGenome.GRCH38: 0, ReferenceGenome.GRCH37: 0}
    for contig in contigs:
        key = contig.name.removeprefix("chr").removeprefix("Chr").removeprefix("CHR")
        if contig.length is None:
            continue
        if _GRCH38_LENGTHS.get(key) == contig.length:
            votes[ReferenceGenome.GRCH38] += 1
        elif _GRCH37_LENGTHS.get(key) == contig.length:
            votes[ReferenceGenome.GRCH37] += 1
    matched = [build for build, n in votes.items() if n]
    if len(matched) == 1:
        build = matched[0]
        return build, f"contig lengths ({votes[build]} chromosomes match {build.value})"
    if len(matched) == 2:
        return ReferenceGenome.UNKNOWN, "contig lengths match both GRCh37 and GRCh38"
    for source, text in declared:
        for build, pattern in _BUILD_PATTERNS:
            if pattern.search(text):
                return build, f"{source} {text}"
    return ReferenceGenome.UNKNOWN, ""


def _duplicates(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for name in names:
        if name in seen:
            repeated[name] = None
        seen.add(name)
    return list(repeated)


def _raw_vcf_header(path: Path, fmt: FileFormat) -> str:
    """The header text, read without htslib (which refuses some headers outright)."""
    try:
        if fmt is FileFormat.BCF:
            opener = gzip.open if _read_at(path, 0, 3) == _GZIP_MAGIC else open
            with opener(path, "rb") as f:
                head = f.read(9)
                (l_text,) = struct.unpack_from("<I", head, 5)
                return f.read(min(l_text, _MAX_RAW_HEADER)).rstrip(b"\x00").decode("utf-8")
        lines: list[str] = []
        opener = gzip.open if fmt is FileFormat.VCF_GZ else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                lines.append(line)
                if not line.startswith("##"):
                    break
        return "".join(lines)
    except (OSError, EOFError, struct.error, UnicodeDecodeError, zlib.error) as exc:
        raise GenomicFileError(
            f"{path}: the VCF header cannot be read ({exc})", code="header-unreadable"
        ) from exc


def _vcf_samples_from_text(text: str) -> list[str]:
    for line in text.splitlines():
        if line.startswith("#CHROM"):
            return line.rstrip("\r\n").split("\t")[9:]
    return []


def _duplicate_samples_error(path: Path, duplicates: Sequence[str]) -> GenomicFileError:
    return GenomicFileError(
        f"{path}: duplicate sample names in the VCF header: {', '.join(duplicates)}; "
        "each sample must appear once",
        code="duplicate-samples",
    )


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


def _alignment_header(path: Path, fmt: FileFormat, reference_path: Path | None) -> HeaderInfo:
    with _htslib_quiet(), _open_alignments(path, fmt, reference_path=reference_path) as f:
        header = f.header.to_dict()
    sq = header.get("SQ", [])
    contigs = tuple(Contig(str(s["SN"]), int(s["LN"]) if "LN" in s else None) for s in sq)
    samples = tuple(dict.fromkeys(str(rg["SM"]) for rg in header.get("RG", []) if "SM" in rg))
    declared = [(f"@SQ {tag}", str(s[tag])) for tag in ("AS", "UR") for s in sq if tag in s]
    genome, evidence = guess_reference(contigs, declared)
    if fmt is FileFormat.CRAM:
        count = _record_count_from_crai(path)
    else:
        count = _record_count_from_bin_index(path, fmt, len(contigs))
    return HeaderInfo(path, fmt, contigs, genome, evidence, samples, count)


_REFERENCE_LINE = re.compile(r"^##reference=(.+)$", re.MULTILINE)
_ASSEMBLY_ATTR = re.compile(r"^##contig=<.*?assembly=\"?([^,>\"]+)", re.MULTILINE)


def _variant_header(path: Path, fmt: FileFormat) -> HeaderInfo:
    with _htslib_quiet(), _open_variants(path, fmt) as f:
        contigs = tuple(Contig(str(name), c.length) for name, c in f.header.contigs.items())
        samples = tuple(f.header.samples)
        text = str(f.header)
    duplicates = _duplicates(samples)
    if duplicates:
        raise _duplicate_samples_error(path, duplicates)
    declared = [("##reference", m.group(1).strip()) for m in _REFERENCE_LINE.finditer(text)]
    declared += [("##contig assembly", m.group(1)) for m in _ASSEMBLY_ATTR.finditer(text)]
    genome, evidence = guess_reference(contigs, declared)
    count = _record_count_from_bin_index(path, fmt, len(contigs)) if fmt.needs_index else None
    return HeaderInfo(path, fmt, contigs, genome, evidence, samples, count)


def read_header(path: PathArg, *, reference_path: PathArg | None = None) -> HeaderInfo:
    """Contigs, samples, reference build and (where an index makes it cheap) record count.

    BAM/CRAM samples come from ``@RG SM`` (each once); VCF/BCF samples from the column
    header, where a repeated name is an error. ``record_count`` is None when no fresh index
    of the right kind is beside the file, and always for plain VCF.
    """
    p = Path(path)
    fmt, description = _detect(p)
    reference = Path(reference_path) if reference_path is not None else None
    if reference is not None and not reference.is_file():
        raise GenomicFileError(f"{reference}: no such reference file", code="reference-missing")
    if fmt in (FileFormat.BAM, FileFormat.CRAM):
        return _alignment_header(p, fmt, reference)
    if fmt in (FileFormat.VCF, FileFormat.VCF_GZ, FileFormat.BCF):
        return _variant_header(p, fmt)
    if fmt.is_index:
        raise GenomicFileError(f"{p}: this is a {fmt.label} index, not data", code="not-data")
    if description == "empty":
        raise GenomicFileError(f"{p}: the file is empty (0 bytes)", code="empty")
    raise GenomicFileError(_unknown_message(p, description), code="unknown-format")


# ------------------------------------------------------------------------------ checksums


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


# ----------------------------------------------------------------------------- validation


@dataclass
class _ReportBuilder:
    path: Path
    format: FileFormat = FileFormat.UNKNOWN
    size: int | None = None
    complete: bool | None = None
    header: HeaderInfo | None = None
    index: IndexCheck | None = None
    checksums: Checksums | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, severity: Severity, code: str, message: str) -> None:
        self.problems.append(Problem(severity, code, message))

    def build(self) -> ValidationReport:
        return ValidationReport(
            self.path,
            self.format,
            self.size,
            self.complete,
            self.header,
            self.index,
            self.checksums,
            tuple(self.problems),
        )


def validate(
    path: PathArg,
    *,
    reference_path: PathArg | None = None,
    on_progress: ProgressCallback | None = None,
) -> ValidationReport:
    """Every check on one file, as a report; problems with the file never raise.

    Order: the file exists and is not empty; the content is a genomic data format; it is
    complete (EOF marker); the header reads (samples unique); the index exists, applies,
    is fresh and matches; a CRAM decodes against the reference when one is given; then
    the checksums (computed even when problems were found, to compare with a manifest).
    """
    p = Path(path)
    out = _ReportBuilder(p)
    try:
        out.size = _stat_file(p).st_size
    except GenomicFileError as exc:
        out.add(Severity.FATAL, exc.code, exc.message)
        return out.build()
    if out.size == 0:
        out.add(Severity.FATAL, "empty", f"{p}: the file is empty (0 bytes)")
        return out.build()
    try:
        _validate_existing(p, out, reference_path, on_progress)
    except GenomicFileError as exc:
        if p.exists():
            out.add(Severity.FATAL, exc.code, exc.message)
    if not p.exists():
        out.add(Severity.FATAL, "vanished", f"{p}: the file vanished while it was being validated")
    return out.build()


def _validate_existing(
    p: Path,
    out: _ReportBuilder,
    reference_path: PathArg | None,
    on_progress: ProgressCallback | None,
) -> None:
    fmt, description = _detect(p)
    out.format = fmt
    if fmt is FileFormat.UNKNOWN:
        out.add(Severity.FATAL, "unknown-format", _unknown_message(p, description))
        return
    if fmt.is_index:
        out.add(Severity.FATAL, "not-data", f"{p}: this is a {fmt.label} index, not data")
        return

    out.complete = check_eof(p)
    if out.complete is False:
        marker = (
            "CRAM end-of-file container" if fmt is FileFormat.CRAM else "BGZF end-of-file marker"
        )
        out.add(
            Severity.FATAL,
            "truncated",
            f"{p}: the file is truncated: the {marker} is missing "
            "(an interrupted copy or write); copy or write it again",
        )

    reference = Path(reference_path) if reference_path is not None else None
    try:
        out.header = read_header(p)
    except GenomicFileError as exc:
        if exc.code in ("missing", "not-a-file"):
            raise
        # A cut file often loses part of its header too; the truncation says it all.
        if not (out.complete is False and exc.code == "header-unreadable"):
            out.add(Severity.FATAL, exc.code, exc.message)
    if out.header is not None and not out.header.samples:
        where = "@RG SM" if fmt in (FileFormat.BAM, FileFormat.CRAM) else "sample columns"
        out.add(Severity.WARNING, "no-samples", f"{p}: the header names no sample ({where})")

    # A truncated file is copied again and an unreadable one replaced, not re-indexed:
    # index findings would only mislead.
    if out.complete is not False and out.header is not None:
        out.index = check_index(p)
        out.problems.extend(out.index.problems)
        if fmt is FileFormat.CRAM:
            out.problems.extend(_cram_reference_problems(p, reference))

    out.checksums = compute_checksums(p, on_progress=on_progress)


def _cram_reference_problems(path: Path, reference: Path | None) -> list[Problem]:
    if reference is None:
        return [
            Problem(
                Severity.WARNING,
                "cram-reference-not-checked",
                f"{path}: no reference was given, so the CRAM records were not decoded against one",
            )
        ]
    if not reference.is_file():
        return [
            Problem(
                Severity.FATAL,
                "reference-missing",
                f"{path}: the reference {reference} does not exist",
            )
        ]
    try:
        with (
            _htslib_quiet(),
            _open_alignments(
                path, FileFormat.CRAM, reference_path=reference, decode_sequences=True
            ) as f,
        ):
            for record in itertools.islice(f.fetch(until_eof=True), _FETCH_SAMPLE):
                _ = record.query_sequence
    except (OSError, ValueError):
        return [
            Problem(
                Severity.FATAL,
                "reference-mismatch",
                f"{path}: the records cannot be decoded with the reference {reference.name} "
                "(not the reference the file was written against, or damaged data)",
            )
        ]
    return []
