"""What a genomic file is: errors, formats, detection from content, end-of-file markers,
and opening a file with htslib (the helpers every other module reads files through)."""

from __future__ import annotations

import contextlib
import enum
import gzip
import os
import re
import stat
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

PathArg = str | os.PathLike[str]
ProgressCallback = Callable[[int, int], None]

_HEAD_BYTES = 128 * 1024
_BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_GZIP_MAGIC = b"\x1f\x8b\x08"
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CRAM_EOF_V3 = bytes.fromhex(
    "0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b"
)
CRAM_EOF_V2 = bytes.fromhex("0b000000ffffffff0fe0454f460000000001000001000606010001000100")
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


# ------------------------------------------------------------------- opening with htslib

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
