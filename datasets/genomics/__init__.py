"""Checks on genomic data files (BAM, CRAM, VCF, VCF.gz, BCF) and their indexes.

Pure functions over a path, built on pysam/htslib. No Django here: the same checks run in
a Celery worker, a management command and the benchmark. Every failure a caller can act
on is a ``GenomicFileError`` (or, in ``validate``, a ``Problem``) whose message names the
file and says what to do.

Modules: ``formats`` (errors, detection, EOF markers, opening with htslib), ``indexes``,
``headers``, ``checksums``, ``validation`` and ``filtering`` (consent-filtered copies);
import from the package, which re-exports the public names.
"""

from __future__ import annotations

from datasets.genomics.checksums import (
    CHECKSUM_CHUNK_SIZE,
    CHECKSUM_PROGRESS_EVERY,
    Checksums,
    compute_checksums,
    kept_checksums,
)
from datasets.genomics.filtering import (
    FILTER_COMPRESSION_LEVEL,
    FilteredCopy,
    Region,
    build_filtered_copy,
    cache_name,
    concatenate_pieces,
    copy_index_format,
    filter_piece,
    index_copy,
    join_pieces,
    keeps_all,
    regions,
    samples_hash,
    write_piece,
)
from datasets.genomics.formats import (
    BGZF_EOF,
    CRAM_EOF_V2,
    CRAM_EOF_V3,
    FileFormat,
    GenomicFileError,
    HtsFile,
    PathArg,
    Problem,
    ProgressCallback,
    Severity,
    check_bgzf_eof,
    check_cram_eof,
    check_eof,
    detect_format,
    format_from_name,
)
from datasets.genomics.headers import (
    Contig,
    HeaderInfo,
    ReferenceGenome,
    guess_reference,
    read_header,
)
from datasets.genomics.indexes import IndexCheck, check_index, find_index
from datasets.genomics.validation import ValidationReport, validate

__all__ = [
    "BGZF_EOF",
    "CHECKSUM_CHUNK_SIZE",
    "CHECKSUM_PROGRESS_EVERY",
    "CRAM_EOF_V2",
    "CRAM_EOF_V3",
    "Checksums",
    "Contig",
    "FILTER_COMPRESSION_LEVEL",
    "FileFormat",
    "FilteredCopy",
    "GenomicFileError",
    "HeaderInfo",
    "HtsFile",
    "IndexCheck",
    "PathArg",
    "Problem",
    "ProgressCallback",
    "ReferenceGenome",
    "Region",
    "Severity",
    "ValidationReport",
    "build_filtered_copy",
    "cache_name",
    "check_bgzf_eof",
    "check_cram_eof",
    "check_eof",
    "check_index",
    "compute_checksums",
    "kept_checksums",
    "concatenate_pieces",
    "copy_index_format",
    "detect_format",
    "filter_piece",
    "find_index",
    "format_from_name",
    "guess_reference",
    "index_copy",
    "join_pieces",
    "keeps_all",
    "read_header",
    "regions",
    "samples_hash",
    "validate",
    "write_piece",
]
