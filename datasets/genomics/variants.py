"""The beacon's variant index read from a VCF.gz/BCF: which sample columns carry each allele.

One record per (contig, position, reference, alternate allele); a multi-allelic site gives
one record per alternate allele. The carriers are a bitmap over the file's sample columns
(bit i = column i, little-endian bytes): at 2,504 samples that is 313 bytes whatever the
allele's frequency, a third of an int[] of sample ids on average and 1/50 of one row per
carrier (docs/beacon.md has the measurement).

bcftools reads the genotypes (`-i 'GT!="ref"'` prints only the samples not homozygous
reference: carriers, and missing calls), so Python never sees the 0/0 calls that make up
most of a file. (`GT="alt"` would miss half-missing calls such as ./1.)

No Django here: the index service, the benchmark and the tests call it directly.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam
import pysam.bcftools
import pysam.utils

from datasets.genomics.formats import GenomicFileError, PathArg

# Variant kinds a range query can ask for (Beacon's variantType), derived from the alleles.
SNP, MNP, DELETION, INSERTION, SYMBOLIC = "SNP", "MNP", "DEL", "INS", "SV"
_BASES = re.compile(r"^[ACGTN]+$")
_FORMAT = "%CHROM\t%POS\t%REF\t%ALT[\t%SAMPLE=%GT]\n"


@dataclass(frozen=True)
class IndexedVariant:
    chrom: str  # normalised: see normalise_chrom
    position: int  # VCF POS, 1-based
    ref: str
    alt: str
    kind: str
    carriers: bytes  # bitmap over the file's sample columns
    carrier_count: int


def normalise_chrom(name: str) -> str:
    """'chr1' and '1' are the same chromosome to a beacon user; 'chrM' is 'MT'."""
    bare = name[3:] if name[:3].lower() == "chr" else name
    return "MT" if bare.upper() in {"M", "MT"} else bare.upper() if len(bare) <= 2 else bare


def variant_kind(ref: str, alt: str) -> str:
    if not (_BASES.match(ref) and _BASES.match(alt)):
        return SYMBOLIC
    if len(ref) == len(alt):
        return SNP if len(ref) == 1 else MNP
    return DELETION if len(ref) > len(alt) else INSERTION


def bitmap_size(samples: int) -> int:
    return (samples + 7) // 8


def bitmap_members(bitmap: bytes) -> list[int]:
    """The column numbers whose bit is set, in order."""
    members: list[int] = []
    for offset, byte in enumerate(bitmap):
        if byte:
            base = offset * 8
            members.extend(base + bit for bit in _BITS[byte])
    return members


_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256)
)


def _alleles(genotype: str, alts: int) -> Sequence[int]:
    """The alternate allele numbers (1-based) in a GT such as 0|2, 1/1, ./1 or 2."""
    if alts == 1:  # the common case, without splitting: the only alleles are 0, 1 and .
        return (1,) if "1" in genotype else ()
    found = set()
    for allele in re.split(r"[/|]", genotype):
        if allele not in ("", ".", "0"):
            found.add(int(allele))
    return sorted(found)


def _query(path: Path, out: Path) -> None:
    try:
        pysam.bcftools.query(
            "-i", 'GT!="ref"', "-f", _FORMAT, "-o", str(out), str(path), catch_stdout=False
        )
    except pysam.utils.SamtoolsError as exc:
        raise GenomicFileError(f"bcftools query failed: {exc}", code="bcftools") from exc


def indexed_variants(path: PathArg, samples: Sequence[str]) -> Iterator[IndexedVariant]:
    """Every carried allele of the file, in file order. `samples` are its columns, in order."""
    column = {name: i for i, name in enumerate(samples)}
    size = bitmap_size(len(samples))
    with tempfile.TemporaryDirectory(prefix="custodian-variants-") as tmp:
        out = Path(tmp) / "carriers.tsv"
        _query(Path(os.fspath(path)), out)
        with out.open(encoding="utf-8") as lines:
            for line in lines:
                yield from _records(line.rstrip("\n").split("\t"), column, size)


def _records(fields: list[str], column: dict[str, int], size: int) -> Iterator[IndexedVariant]:
    chrom, pos, ref, alts = fields[0], int(fields[1]), fields[2], fields[3].split(",")
    carried: list[bytearray] = [bytearray(size) for _ in alts]
    counts = [0] * len(alts)
    for token in fields[4:]:
        name, _, genotype = token.rpartition("=")
        i = column[name]
        for number in _alleles(genotype, len(alts)):
            if number <= len(alts) and not carried[number - 1][i >> 3] >> (i & 7) & 1:
                carried[number - 1][i >> 3] |= 1 << (i & 7)
                counts[number - 1] += 1
    normalised = normalise_chrom(chrom)
    for alt, bitmap, count in zip(alts, carried, counts, strict=True):
        if count and alt not in ("*", "."):
            yield IndexedVariant(
                chrom=normalised,
                position=pos,
                ref=ref,
                alt=alt,
                kind=variant_kind(ref, alt),
                carriers=bytes(bitmap),
                carrier_count=count,
            )
