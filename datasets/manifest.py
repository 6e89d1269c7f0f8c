"""Reading a registration manifest and its sample mapping files (tab-separated).

Manifest: a header naming the columns `path` (required, from the data root), `format`
(optional: BAM, CRAM, VCF.gz, BCF) and `mapping` (optional: a sample mapping file, relative
to the manifest, and inside the data root like every other path). Mapping file: `sample_id`
and `study_id` columns, header optional. Blank lines and lines starting with `#` are
skipped. Every problem names its file and line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from datasets.paths import DataPathError, resolve_data_path
from datasets.services import FileEntry, SampleLinkEntry

PATH_COLUMN = "path"
FORMAT_COLUMN = "format"
MAPPING_COLUMNS = ("mapping", "sample_mapping", "samples")


@dataclass
class Manifest:
    entries: list[FileEntry] = field(default_factory=list)
    links: list[SampleLinkEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        return _rows_of(f)


def _rows_of(lines: Iterable[str]) -> list[tuple[int, list[str]]]:
    return [
        (n, [cell.strip() for cell in row])
        for n, row in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), 1)
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")
    ]


@dataclass
class Mapping:
    """A sample mapping file read: (sample ID, study ID, where) per sample, or problems."""

    pairs: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_mapping(content: bytes, name: str) -> Mapping:
    """A sample mapping file sent as bytes (the stewards' page takes the file that
    register_dataset reads from disk), read by the same rules."""
    out = Mapping()
    try:
        rows = _rows_of(io.StringIO(content.decode("utf-8-sig"), newline=""))
    except UnicodeDecodeError:
        out.problems.append(f"{name}: not UTF-8 text (save it as UTF-8 and send it again).")
        return out
    except csv.Error as exc:
        out.problems.append(f"{name}: cannot be read ({exc}).")
        return out
    pairs, out.problems = _mapping_pairs(rows, name)
    out.pairs = pairs
    if not pairs and not out.problems:
        out.problems.append(f"{name}: no sample in the file.")
    return out


def _mapping_pairs(
    rows: list[tuple[int, list[str]]], name: str
) -> tuple[list[tuple[str, str, str]], list[str]]:
    if rows and [c.lower() for c in rows[0][1][:2]] == ["sample_id", "study_id"]:
        rows = rows[1:]
    pairs, problems = [], []
    for n, row in rows:
        where = f"{name} line {n}"
        if len(row) != 2:
            problems.append(f"{where}: expected 2 columns (sample ID, study ID), found {len(row)}.")
            continue
        pairs.append((row[0], row[1], where))
    return pairs, problems


def _read(path: Path, what: str, problems: list[str]) -> list[tuple[int, list[str]]] | None:
    try:
        return _rows(path)
    except FileNotFoundError:
        problems.append(f"{what} {path}: no such file.")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{what} {path}: cannot be read ({exc}).")
    return None


def read_manifest(path: Path) -> Manifest:
    out = Manifest()
    rows = _read(path, "manifest", out.problems)
    if rows is None:
        return out
    if not rows:
        out.problems.append(f"{path.name}: the manifest is empty.")
        return out
    header_line, header = rows[0]
    columns = [c.lower() for c in header]
    if PATH_COLUMN not in columns:
        out.problems.append(
            f"{path.name} line {header_line}: the first line must be a header naming the "
            f"columns ({PATH_COLUMN}, and optionally {FORMAT_COLUMN} and mapping)."
        )
        return out
    at_path = columns.index(PATH_COLUMN)
    at_format = columns.index(FORMAT_COLUMN) if FORMAT_COLUMN in columns else None
    at_mapping = next((columns.index(c) for c in MAPPING_COLUMNS if c in columns), None)
    mappings: dict[Path, list[tuple[int, list[str]]] | None] = {}
    for n, row in rows[1:]:
        where = f"{path.name} line {n}"
        cells = row + [""] * (len(columns) - len(row))
        if len(row) > len(columns):
            out.problems.append(
                f"{where}: {len(row)} columns, but the header names {len(columns)}."
            )
            continue
        file_path = cells[at_path]
        if not file_path:
            out.problems.append(f"{where}: no file path.")
            continue
        fmt = cells[at_format] if at_format is not None else ""
        out.entries.append(FileEntry(file_path, fmt, where))
        mapping = cells[at_mapping] if at_mapping is not None else ""
        if mapping:
            # Inside the data root like every other path: the command reads the file and
            # repeats its cells in messages, so a mapping must not name /etc/shadow.
            try:
                mapping_path = resolve_data_path(str((path.parent / mapping).absolute())).absolute
            except DataPathError as exc:
                out.problems.append(f"{where}: mapping {mapping}: {exc.message}")
                continue
            if mapping_path not in mappings:
                mappings[mapping_path] = _read(mapping_path, f"{where}: mapping", out.problems)
            _add_links(out, mapping_path, mappings[mapping_path], file_path)
    return out


def _add_links(
    out: Manifest, mapping: Path, rows: list[tuple[int, list[str]]] | None, file_path: str
) -> None:
    if not rows:
        return
    pairs, problems = _mapping_pairs(rows, mapping.name)
    out.problems += problems
    out.links += [SampleLinkEntry(s, p, file_path, where) for s, p, where in pairs]
