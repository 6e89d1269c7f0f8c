"""Consent-filtered copies of multi-sample VCF.gz/BCF files, built in index-aligned pieces.

A copy holds only the kept samples' columns (in the file's own order) and every record of
the source. The work is split by the source's index into regions that do not overlap; each
region becomes a BGZF piece written by pysam's bcftools (one Celery subtask each, later),
and the pieces are joined byte-wise without recompressing, then indexed. Nothing is ever
visible under the final name until it is complete: the joined file and its index are
written under temporary names in the same folder and renamed into place.

No Django here: a worker, the benchmark and the tests call these functions directly.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import secrets
import shutil
import struct
import tempfile
import zlib
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pysam
import pysam.bcftools
import pysam.utils

from datasets.genomics.formats import (
    BGZF_EOF,
    FileFormat,
    GenomicFileError,
    PathArg,
    _htslib_quiet,
    _os_error,
    detect_format,
)
from datasets.genomics.indexes import find_index

# zlib level for the pieces (pysam's htslib compresses with zlib, not libdeflate). Measured
# on 1,000 samples: level 4 writes in ~45% of level 6's time for a file ~20% larger; level 1
# saves little more time but is ~70% larger, and researchers download these files.
FILTER_COMPRESSION_LEVEL = 4
# Pieces a file is cut into when no count is asked for: a few per worker, so one slow piece
# does not leave the other workers idle at the end.
DEFAULT_PIECES = 8
# Below this (compressed) size a contig is not worth splitting.
MIN_PIECE_BYTES = 4 * 1024 * 1024

_FILTERABLE = (FileFormat.VCF_GZ, FileFormat.BCF)
_EXTENSIONS = {FileFormat.VCF_GZ: ".vcf.gz", FileFormat.BCF: ".bcf"}
_BGZF_HEADER = struct.Struct("<4sIBBHHH")  # magic, MTIME, XFL, OS, XLEN, then BC subfield
_BCF_MAGIC = b"BCF\x02"
# "To the end of the contig" in a regions file: the largest position bcftools' region reader
# accepts (htslib's MAX_CSI_COOR); larger values fail with "failed to seek".
_OPEN_END = (1 << 44) - 1
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Region:
    """Records of ``contig`` whose POS lies in [start, end) (0-based; ``end=None``: to the
    end of the contig). A record belongs to the region holding its POS, whatever its REF
    spans, so regions that do not overlap share no record."""

    contig: str
    start: int = 0
    end: int | None = None

    def __str__(self) -> str:
        return f"{self.contig}:{self.start + 1}-{'' if self.end is None else self.end}"

    @property
    def bed_line(self) -> str:
        # A regions file, not "-r chr:beg-end", so contig names with ':' or ',' survive.
        # 1-based inclusive, the three-column convention bcftools reads from a .tsv.
        end = self.end if self.end is not None else _OPEN_END
        return f"{self.contig}\t{self.start + 1}\t{end}\n"


@dataclass(frozen=True)
class FilteredCopy:
    path: Path
    index_path: Path
    format: FileFormat
    samples: tuple[str, ...] = field(repr=False)
    samples_hash: str
    pieces: int
    size: int


# ---------------------------------------------------------------------------- cache keys


def samples_hash(sample_ids: Iterable[str]) -> str:
    """SHA-256 of the sorted, newline-joined sample IDs: equal sets give equal hashes."""
    ids = sorted(set(sample_ids))
    if any("\n" in s for s in ids):
        raise ValueError("a sample ID cannot contain a line break")
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def cache_name(file_sha256: str, sample_set_hash: str, fmt: FileFormat | str) -> str:
    """The file name of a filtered copy: the same source and sample set share one file."""
    for label, value in (("file SHA-256", file_sha256), ("sample-set hash", sample_set_hash)):
        if not _SHA256_HEX.fullmatch(value):
            raise ValueError(f"the {label} must be 64 lowercase hexadecimal digits")
    fmt = FileFormat(fmt)
    if fmt not in _EXTENSIONS:
        raise ValueError(f"only VCF.gz and BCF files are filtered, not {fmt.label}")
    return f"{file_sha256}.{sample_set_hash}{_EXTENSIONS[fmt]}"


def keeps_all(header_samples: Sequence[str], keep: Collection[str]) -> bool:
    """Every sample of the file is kept, so the original can be served as it is."""
    kept = set(keep)
    return all(s in kept for s in header_samples)


# ------------------------------------------------------------------------------ regions


@dataclass(frozen=True)
class _RefBins:
    begin: int  # virtual offset of the first record
    end: int  # virtual offset past the last record
    windows: tuple[tuple[int, int], ...]  # (0-based position, virtual offset there), by position


def _bin_start(bin_id: int, min_shift: int, depth: int) -> int:
    """0-based first position a bin covers (bins are numbered level by level)."""
    level = depth
    while ((1 << (3 * level)) - 1) // 7 > bin_id:
        level -= 1
    first = ((1 << (3 * level)) - 1) // 7
    return (bin_id - first) << (min_shift + 3 * (depth - level))


def _parse_bins(raw: bytes, fmt: FileFormat) -> list[_RefBins | None]:
    """Per reference of a TBI or CSI index: where its records start, position by position.

    TBI has a linear index (the first record of every 16 kb window); CSI has instead a
    ``loffset`` on every bin. htslib merges the bins of sparse stretches into their
    parents, so bins give coarser positions there, but only where the data is smaller
    than a BGZF block, which is finer than any piece.
    """
    data = gzip.decompress(raw)
    is_csi = fmt is FileFormat.CSI
    if is_csi:
        min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
        offset = 16 + l_aux
        (n_ref,) = struct.unpack_from("<i", data, offset)
        offset += 4
    else:
        min_shift, depth = 14, 5
        (n_ref,) = struct.unpack_from("<i", data, 4)
        (l_nm,) = struct.unpack_from("<i", data, 32)
        offset = 36 + l_nm
    pseudo_bin = ((1 << (3 * depth + 3)) - 1) // 7 + 1
    refs: list[_RefBins | None] = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, offset)
        offset += 4
        windows: dict[int, int] = {}
        span: tuple[int, int] | None = None
        begins: list[int] = []
        ends: list[int] = []
        for _ in range(n_bin):
            (bin_id,) = struct.unpack_from("<I", data, offset)
            loffset = struct.unpack_from("<Q", data, offset + 4)[0] if is_csi else None
            offset += 12 if is_csi else 4
            (n_chunk,) = struct.unpack_from("<i", data, offset)
            offset += 4
            chunks = struct.unpack_from(f"<{2 * n_chunk}Q", data, offset)
            offset += 16 * n_chunk
            if bin_id == pseudo_bin:
                span = (chunks[0], chunks[1])
            elif n_chunk:
                begins.append(min(chunks[0::2]))
                ends.append(max(chunks[1::2]))
                if is_csi:
                    windows[_bin_start(bin_id, min_shift, depth)] = loffset or begins[-1]
        if not is_csi:
            (n_intv,) = struct.unpack_from("<i", data, offset)
            linear = struct.unpack_from(f"<{n_intv}Q", data, offset + 4)
            offset += 4 + 8 * n_intv
            windows.update((w << min_shift, v) for w, v in enumerate(linear) if v)
        if span is None and begins:
            span = (min(begins), max(ends))
        refs.append(None if span is None else _RefBins(*span, tuple(sorted(windows.items()))))
    return refs


def _source(path: PathArg) -> tuple[Path, FileFormat, Path]:
    p = Path(path)
    fmt = detect_format(p)
    if fmt not in _FILTERABLE:
        raise GenomicFileError(
            f"{p}: only bgzipped VCF and BCF files can be filtered by sample (this is "
            f"{fmt.label}); compress it with bgzip and index it",
            code="not-filterable",
        )
    index = find_index(p)
    if index is None:
        raise GenomicFileError(
            f"{p}: no index beside it; create one with "
            f"'bcftools index {'--tbi ' if fmt is FileFormat.VCF_GZ else ''}{p.name}'",
            code="no-index",
        )
    return p, fmt, index


def _index_ref_names(path: Path) -> tuple[str, ...]:
    # Index entries are numbered as the index (TBI: its name list) or the BCF header's
    # contig dictionary (CSI of a BCF) numbers them; pysam reads either.
    with _htslib_quiet(), pysam.VariantFile(str(path)) as f:
        index = f.index
        if index is None:
            raise GenomicFileError(f"{path}: htslib cannot load the index", code="no-index")
        return tuple(str(name) for name in index)


def regions(
    path: PathArg, *, pieces: int = DEFAULT_PIECES, min_piece_bytes: int = MIN_PIECE_BYTES
) -> list[Region]:
    """Index-aligned regions covering every record of the file exactly once, in file order.

    One region per contig that has records; a contig holding more than ``1/pieces`` of
    the file's compressed bytes (and at least ``min_piece_bytes``) is cut at index window
    boundaries into ranges of about equal compressed size.
    """
    if pieces < 1:
        raise ValueError("pieces must be at least 1")
    p, _fmt, index_path = _source(path)
    index_fmt = detect_format(index_path)
    try:
        refs = _parse_bins(index_path.read_bytes(), index_fmt)
    except OSError as exc:
        raise _os_error(index_path, exc) from exc
    except (struct.error, ValueError, EOFError, zlib.error) as exc:
        raise GenomicFileError(
            f"{index_path}: the index cannot be read ({exc}); recreate it", code="bad-index"
        ) from exc
    names = _index_ref_names(p)
    placed = [(names[i], ref) for i, ref in enumerate(refs) if ref is not None and i < len(names)]
    # Contigs in the order their records appear in the file, which a BCF's contig
    # dictionary need not follow.
    placed.sort(key=lambda item: item[1].begin)
    sizes = [max(1, (ref.end >> 16) - (ref.begin >> 16)) for _, ref in placed]
    target = max(min_piece_bytes, sum(sizes) // pieces, 1)
    out: list[Region] = []
    for (name, ref), size in zip(placed, sizes, strict=True):
        cuts = _cuts(ref, size, round(size / target))
        ends: list[int | None] = [*cuts, None]
        out.extend(Region(name, start, end) for start, end in zip([0, *cuts], ends, strict=True))
    return out


def _cuts(ref: _RefBins, size: int, count: int) -> list[int]:
    """Window starts where the file offset passes each 1/count of the contig's bytes."""
    if count < 2 or len(ref.windows) < 2:
        return []
    start = ref.begin >> 16
    cuts: list[int] = []
    windows = iter(ref.windows)
    for j in range(1, count):
        threshold = start + size * j // count
        for position, offset in windows:
            if (offset >> 16) >= threshold:
                if position > (cuts[-1] if cuts else 0):
                    cuts.append(position)
                break
    return cuts


# ------------------------------------------------------------------------------ filtering


def _header_samples(path: Path) -> tuple[str, ...]:
    with _htslib_quiet(), pysam.VariantFile(str(path)) as f:
        return tuple(f.header.samples)


def _ordered_keep(path: Path, keep_samples: Iterable[str]) -> tuple[str, ...]:
    """The kept samples in the file's order, after refusing an empty or unknown choice."""
    wanted = set(keep_samples)
    if not wanted:
        raise ValueError(f"{path}: no sample to keep; a copy without samples is not made")
    header = _header_samples(path)
    unknown = sorted(wanted.difference(header))
    if unknown:
        shown = ", ".join(unknown[:5]) + (
            f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        )
        raise ValueError(f"{path}: {len(unknown)} sample(s) to keep are not in the file: {shown}")
    return tuple(s for s in header if s in wanted)


def _bcftools(command: str, *args: str) -> None:
    try:
        with _htslib_quiet():
            getattr(pysam.bcftools, command)(*args, catch_stdout=False)
    except pysam.utils.SamtoolsError as exc:
        raise GenomicFileError(f"bcftools {command} failed: {exc}", code="bcftools") from exc


def filter_piece(
    source: PathArg,
    region: Region,
    keep_samples: Iterable[str],
    out_path: PathArg,
    *,
    threads: int = 1,
    compression_level: int = FILTER_COMPRESSION_LEVEL,
) -> Path:
    """Write the records of ``region`` with only the kept samples as a BGZF piece.

    A piece is a complete small file (header, records, EOF block) in the source's format;
    ``concatenate_pieces`` keeps the first header and drops the others. INFO/AC and AN are
    recounted over the kept samples (bcftools' default), so they reveal nothing of the
    samples left out.
    """
    src, fmt, _index = _source(source)
    samples = _ordered_keep(src, keep_samples)
    out = Path(out_path)
    lists = out.with_name(f".{out.name}.lists")
    lists.mkdir(exist_ok=True)
    try:
        samples_file = lists / "samples.txt"
        samples_file.write_text("".join(f"{s}\n" for s in samples), encoding="utf-8")
        regions_file = lists / "regions.tsv"
        regions_file.write_text(region.bed_line, encoding="utf-8")
        _bcftools(
            "view",
            "--no-version",
            # POS inside the region, not overlap: a deletion that starts before the region
            # and reaches into it belongs to the previous piece only.
            "--regions-overlap",
            "pos",
            "-R",
            str(regions_file),
            "-S",
            str(samples_file),
            "-O",
            "z" if fmt is FileFormat.VCF_GZ else "b",
            "--compression-level",
            str(compression_level),
            "--threads",
            str(max(0, threads - 1)),
            "-o",
            str(out),
            str(src),
        )
    except OSError as exc:
        raise _os_error(out, exc) from exc
    finally:
        shutil.rmtree(lists, ignore_errors=True)
    return out


# -------------------------------------------------------------------------- concatenation


def _read_block(f: BinaryIO, offset: int) -> tuple[bytes, int]:
    """The BGZF block header at ``offset`` and the block's total size."""
    f.seek(offset)
    head = f.read(_BGZF_HEADER.size + 2)
    if len(head) < _BGZF_HEADER.size + 2:
        raise ValueError(f"a truncated BGZF block at byte {offset}")
    magic, _mtime, _xfl, _os, xlen, _si, _slen = _BGZF_HEADER.unpack_from(head)
    if magic != b"\x1f\x8b\x08\x04" or xlen < 6:
        raise ValueError(f"not a BGZF block at byte {offset}")
    (bsize,) = struct.unpack_from("<H", head, _BGZF_HEADER.size)
    return head, bsize + 1


def _header_length(head: bytes, fmt: FileFormat) -> int | None:
    """Uncompressed length of the header at the start of ``head``, if it is all there."""
    if fmt is FileFormat.BCF:
        if len(head) < 9:
            return None
        if not head.startswith(_BCF_MAGIC):
            raise ValueError("not a BCF stream")
        (l_text,) = struct.unpack_from("<I", head, 5)
        return 9 + l_text if len(head) >= 9 + l_text else None
    at = head.find(b"\n#CHROM")
    if at < 0:
        return None
    end = head.find(b"\n", at + 1)
    return end + 1 if end >= 0 else None


def _piece_layout(f: BinaryIO, size: int, fmt: FileFormat) -> tuple[bytes, int, int]:
    """A piece's header (uncompressed) and the byte range of its record blocks.

    Walks every block header, so a piece that is not a clean run of BGZF blocks ending in
    the EOF marker is refused rather than joined into a file htslib would reject later.
    """
    f.seek(max(0, size - len(BGZF_EOF)))
    if size < len(BGZF_EOF) or f.read() != BGZF_EOF:
        raise ValueError("it does not end with the BGZF end-of-file block")
    head = b""
    body_start: int | None = None
    offset = 0
    while offset < size:
        block_head, block_size = _read_block(f, offset)
        if body_start is None:
            block = block_head + f.read(block_size - len(block_head))
            head += zlib.decompress(block[18:-8], wbits=-15)
            length = _header_length(head, fmt)
            if length is not None:
                if length != len(head):
                    raise ValueError("its header does not end at a BGZF block boundary")
                body_start = offset + block_size
        offset += block_size
    if offset != size:
        raise ValueError("its last BGZF block is truncated")
    if body_start is None:
        raise ValueError("it has no complete header")
    return head, body_start, size - len(BGZF_EOF)


def _copy_range(source: BinaryIO, sink: BinaryIO, offset: int, length: int) -> None:
    sink.flush()
    src, dst = source.fileno(), sink.fileno()
    while length > 0:
        try:
            # In the kernel, without passing the bytes through Python.
            copied = os.copy_file_range(src, dst, length, offset)
        except OSError:
            copied = 0
        if copied <= 0:
            source.seek(offset)
            chunk = source.read(min(length, 8 * 1024 * 1024))
            if not chunk:
                raise OSError(f"{source.name}: ends before byte {offset + length}")
            sink.write(chunk)
            sink.flush()
            copied = len(chunk)
        offset += copied
        length -= copied


def concatenate_pieces(pieces: Sequence[PathArg], out_path: PathArg) -> Path:
    """Join BGZF pieces written by ``filter_piece`` (in order) without recompressing.

    A BGZF file is a run of independent gzip blocks, so blocks can be copied byte for byte.
    The first piece's header blocks are kept and every other piece's dropped (they must
    be identical, which also proves the pieces keep the same samples); each piece's EOF
    block is dropped and one ends the file. Writes ``out_path`` directly:
    ``build_filtered_copy`` (and a chord callback) give it a temporary name and rename it.
    """
    if not pieces:
        raise ValueError("no pieces to concatenate")
    out = Path(out_path)
    header: bytes | None = None
    fmt = detect_format(pieces[0])
    if fmt not in _FILTERABLE:
        raise GenomicFileError(f"{pieces[0]}: not a VCF.gz or BCF piece", code="bad-piece")
    try:
        with out.open("wb") as sink:
            for piece in map(Path, pieces):
                with piece.open("rb") as f:
                    try:
                        if not f.read(4).startswith(b"\x1f\x8b\x08\x04"):
                            raise ValueError("it is not BGZF-compressed")
                        piece_header, body_start, body_end = _piece_layout(
                            f, os.fstat(f.fileno()).st_size, fmt
                        )
                    except ValueError as exc:
                        raise GenomicFileError(
                            f"{piece}: not a piece that can be joined: {exc}", code="bad-piece"
                        ) from exc
                    if header is None:
                        header = piece_header
                        _copy_range(f, sink, 0, body_start)
                    elif piece_header != header:
                        raise GenomicFileError(
                            f"{piece}: its header differs from the first piece's",
                            code="bad-piece",
                        )
                    _copy_range(f, sink, body_start, body_end - body_start)
            sink.write(BGZF_EOF)
    except OSError as exc:
        raise _os_error(out, exc) from exc
    return out


def index_copy(path: PathArg, index_path: PathArg, index_format: FileFormat) -> Path:
    """Index a joined copy (TBI or CSI) into ``index_path``."""
    kind = "--tbi" if index_format is FileFormat.TBI else "--csi"
    _bcftools("index", "--force", kind, "-o", str(index_path), str(path))
    return Path(index_path)


# -------------------------------------------------------------------------------- building


def _temporary_name(final: Path) -> Path:
    # Same folder as the final name, so os.replace is an atomic rename; hidden and random,
    # so two workers building the same copy never write into each other's file.
    suffix = ".vcf.gz" if final.name.endswith(".vcf.gz") else final.suffix
    return final.with_name(f".{final.name}.{secrets.token_hex(6)}.partial{suffix}")


def write_piece(
    source: PathArg,
    region: Region,
    keep_samples: Iterable[str],
    piece_path: PathArg,
    *,
    threads: int = 1,
    compression_level: int = FILTER_COMPRESSION_LEVEL,
) -> Path:
    """``filter_piece`` under a temporary name, renamed into place: a piece that exists
    is complete, so a subtask that is run again (or twice at once) can trust it."""
    piece = Path(piece_path)
    partial = _temporary_name(piece)
    try:
        filter_piece(
            source,
            region,
            keep_samples,
            partial,
            threads=threads,
            compression_level=compression_level,
        )
        os.replace(partial, piece)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return piece


def join_pieces(pieces: Sequence[PathArg], out_path: PathArg, index_format: FileFormat) -> Path:
    """Join pieces and index the result under temporary names, then rename the index and
    then the data into place: the data's presence means the copy and its index are complete.
    Returns the index's path (``out_path`` + ``.tbi`` or ``.csi``)."""
    out = Path(out_path)
    final_index = out.with_name(f"{out.name}.{index_format.value}")
    partial = _temporary_name(out)
    partial_index = partial.with_name(f"{partial.name}.{index_format.value}")
    try:
        concatenate_pieces(pieces, partial)
        index_copy(partial, partial_index, index_format)
        os.replace(partial_index, final_index)
        os.replace(partial, out)
    finally:
        for leftover in (partial, partial_index):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return final_index


def copy_index_format(source: PathArg) -> FileFormat:
    """The index a filtered copy of ``source`` gets: the source's kind for a VCF.gz (TBI or
    CSI), CSI for a BCF."""
    src, fmt, source_index = _source(source)
    return detect_format(source_index) if fmt is FileFormat.VCF_GZ else FileFormat.CSI


def build_filtered_copy(
    source: PathArg,
    keep_samples: Iterable[str],
    out_path: PathArg,
    *,
    pieces: Sequence[Region] | None = None,
    threads: int = 1,
    compression_level: int = FILTER_COMPRESSION_LEVEL,
    executor: Executor | None = None,
) -> FilteredCopy:
    """Build the consent-filtered copy, piece after piece in this process by default.

    1. Refuse an empty or unknown sample choice; plan the pieces from the index.
    2. Filter each piece into a private temporary folder beside ``out_path`` (spread over
       ``executor``'s processes if one is given; the Celery chord does the same across
       workers with ``write_piece`` and ``join_pieces``).
    3. Join them under a temporary name, index it, and rename the index, then the data,
       into place: the data's presence means the copy and its index are complete.
    """
    src, fmt, _source_index = _source(source)
    samples = _ordered_keep(src, keep_samples)
    out = Path(out_path)
    plan = list(pieces) if pieces is not None else regions(src)
    if not plan:
        raise GenomicFileError(f"{src}: the index lists no records", code="empty")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".pieces", dir=out.parent))
    try:
        targets = [work / f"{n:05d}{_EXTENSIONS[fmt]}" for n in range(len(plan))]
        options = {"threads": threads, "compression_level": compression_level}
        if executor is None:
            paths = [
                filter_piece(src, region, samples, target, **options)
                for region, target in zip(plan, targets, strict=True)
            ]
        else:
            futures = [
                executor.submit(filter_piece, src, region, samples, target, **options)
                for region, target in zip(plan, targets, strict=True)
            ]
            paths = [future.result() for future in futures]
        final_index = join_pieces(paths, out, copy_index_format(src))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return FilteredCopy(
        path=out,
        index_path=final_index,
        format=fmt,
        samples=samples,
        samples_hash=samples_hash(samples),
        pieces=len(plan),
        size=out.stat().st_size,
    )
