"""Every check on one file, gathered into a report."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

# The package, not its modules: checks are looked up on it when called, so that patching
# `datasets.genomics.check_index` (as the tests do to make a file vanish mid-check) takes
# effect here too.
from datasets import genomics as _package
from datasets.genomics.checksums import Checksums
from datasets.genomics.formats import (
    FileFormat,
    GenomicFileError,
    PathArg,
    Problem,
    ProgressCallback,
    Severity,
    _detect,
    _htslib_quiet,
    _open_alignments,
    _stat_file,
    _unknown_message,
    check_eof,
)
from datasets.genomics.headers import HeaderInfo
from datasets.genomics.indexes import _FETCH_SAMPLE, IndexCheck


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
        out.header = _package.read_header(p)
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
        out.index = _package.check_index(p)
        out.problems.extend(out.index.problems)
        if fmt is FileFormat.CRAM:
            out.problems.extend(_cram_reference_problems(p, reference))

    out.checksums = _package.compute_checksums(p, on_progress=on_progress)


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
