"""Headers: contigs, samples, the reference build and (where an index makes it cheap) the
record count."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datasets.genomics.formats import (
    FileFormat,
    GenomicFileError,
    PathArg,
    _detect,
    _duplicate_samples_error,
    _duplicates,
    _htslib_quiet,
    _open_alignments,
    _open_variants,
    _unknown_message,
)
from datasets.genomics.indexes import _record_count_from_bin_index, _record_count_from_crai


class ReferenceGenome(enum.StrEnum):
    GRCH38 = "GRCh38"
    GRCH37 = "GRCh37"
    UNKNOWN = "unknown"


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
