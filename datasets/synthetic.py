"""Small, real genomic files written with pysam, for tests and the demo data.

Everything is deterministic for a given seed, so a test can regenerate a file and get
the same bytes. No Django here: the demo seeding command and the tests both call it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import pysam
import pysam.bcftools

PathArg = str | os.PathLike[str]
ContigSpec = Sequence[tuple[str, int]] | Mapping[str, int]

# Real GRCh38 lengths, so the reference build can be recognised from the header; reads and
# variants are placed near the start, which keeps the files and their indexes tiny.
GRCH38_CONTIGS: tuple[tuple[str, int], ...] = (("chr1", 248_956_422), ("chr2", 242_193_529))
GRCH37_CONTIGS: tuple[tuple[str, int], ...] = (("1", 249_250_621), ("2", 243_199_373))
# Short enough to spell out in a FASTA for CRAM.
SMALL_CONTIGS: tuple[tuple[str, int], ...] = (("chr1", 20_000), ("chr2", 15_000))

_GENOTYPES = ("0/0", "0/1", "1/1", "./.")
_GENOTYPE_WEIGHTS = (70, 20, 9, 1)
_BASES = "ACGT"


def _rng(seed: int) -> random.Random:
    # Reproducible fixture data, never secrets: a seeded PRNG is the point.
    return random.Random(seed)  # noqa: S311


def _contig_list(contigs: ContigSpec) -> list[tuple[str, int]]:
    items = contigs.items() if isinstance(contigs, Mapping) else contigs
    return [(str(name), int(length)) for name, length in items]


def sample_names(count: int, *, prefix: str = "HG", width: int = 5) -> tuple[str, ...]:
    """``HG00001``, ``HG00002``… in the style of the 1000 Genomes sample ids."""
    return tuple(f"{prefix}{i:0{width}d}" for i in range(1, count + 1))


def write_reference_fasta(
    path: PathArg, contigs: ContigSpec = SMALL_CONTIGS, *, seed: int = 0, index: bool = True
) -> Path:
    """A random-sequence FASTA (60 bases a line) and, by default, its ``.fai``."""
    out = Path(path)
    rng = _rng(seed)
    with out.open("w", encoding="ascii") as f:
        for name, length in _contig_list(contigs):
            sequence = "".join(rng.choices(_BASES, k=length))
            f.write(f">{name}\n")
            f.writelines(f"{sequence[i : i + 60]}\n" for i in range(0, length, 60))
    if index:
        pysam.faidx(str(out))
    return out


def _alignment_header(
    contigs: Sequence[tuple[str, int]], sample: str, read_groups: int, assembly: str | None
) -> dict[str, object]:
    sq: list[dict[str, object]] = []
    for name, length in contigs:
        entry: dict[str, object] = {"SN": name, "LN": length}
        if assembly:
            entry["AS"] = assembly
        sq.append(entry)
    return {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": sq,
        "RG": [
            {"ID": f"{sample}.{i}", "SM": sample, "PL": "ILLUMINA", "LB": f"{sample}-lib"}
            for i in range(1, read_groups + 1)
        ],
        "PG": [{"ID": "custodian-synthetic", "PN": "custodian-synthetic"}],
    }


def _write_alignments(
    path: Path,
    mode: str,
    *,
    contigs: Sequence[tuple[str, int]],
    header: dict[str, object],
    sample: str,
    sequences: Mapping[str, str] | None,
    reads_per_contig: int,
    read_length: int,
    unmapped_reads: int,
    read_groups: int,
    seed: int,
    reference_path: Path | None = None,
) -> None:
    rng = _rng(seed)
    qualities = pysam.qualitystring_to_array("I" * read_length)
    group_ids = [f"{sample}.{i}" for i in range(1, read_groups + 1)]
    with pysam.AlignmentFile(
        str(path),
        mode,
        header=header,
        reference_filename=str(reference_path) if reference_path else None,
    ) as out:
        for tid, (name, length) in enumerate(contigs):
            span = max(1, min(length - read_length, reads_per_contig * 50))
            for n, start in enumerate(sorted(rng.randrange(span) for _ in range(reads_per_contig))):
                read = pysam.AlignedSegment(out.header)
                read.query_name = f"{name}:{start}:{n}"
                if sequences is not None:
                    read.query_sequence = sequences[name][start : start + read_length]
                else:
                    read.query_sequence = "".join(rng.choices(_BASES, k=read_length))
                read.flag = 16 if rng.random() < 0.5 else 0
                read.reference_id = tid
                read.reference_start = start
                read.mapping_quality = 60
                read.cigartuples = [(0, read_length)]
                read.query_qualities = qualities
                read.set_tag("RG", group_ids[n % read_groups])
                out.write(read)
        for n in range(unmapped_reads):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"unmapped:{n}"
            read.query_sequence = "".join(rng.choices(_BASES, k=read_length))
            read.flag = 4
            read.reference_id = -1
            read.reference_start = -1
            read.query_qualities = qualities
            read.set_tag("RG", group_ids[n % read_groups])
            out.write(read)


def write_bam(
    path: PathArg,
    *,
    sample: str,
    contigs: ContigSpec = GRCH38_CONTIGS,
    reads_per_contig: int = 100,
    read_length: int = 100,
    unmapped_reads: int = 0,
    read_groups: int = 1,
    assembly: str | None = None,
    seed: int = 0,
    index: bool = True,
    csi: bool = False,
) -> Path:
    """A coordinate-sorted BAM with reads on every contig and, by default, its ``.bai``.

    ``read_groups`` > 1 writes several ``@RG`` lines for the same ``SM``, as a sample
    sequenced on several lanes has. ``csi=True`` writes ``.csi`` instead of ``.bai``.
    """
    out = Path(path)
    contig_list = _contig_list(contigs)
    _write_alignments(
        out,
        "wb",
        contigs=contig_list,
        header=_alignment_header(contig_list, sample, read_groups, assembly),
        sample=sample,
        sequences=None,
        reads_per_contig=reads_per_contig,
        read_length=read_length,
        unmapped_reads=unmapped_reads,
        read_groups=read_groups,
        seed=seed,
    )
    if index:
        pysam.samtools.index(*(["-c"] if csi else []), str(out))
    return out


def write_cram(
    path: PathArg,
    *,
    reference_path: PathArg,
    sample: str,
    reads_per_contig: int = 100,
    read_length: int = 100,
    unmapped_reads: int = 0,
    read_groups: int = 1,
    assembly: str | None = None,
    seed: int = 0,
    index: bool = True,
) -> Path:
    """A CRAM whose reads copy the reference (contigs from its ``.fai``) and its ``.crai``."""
    out = Path(path)
    reference = Path(reference_path)
    with pysam.FastaFile(str(reference)) as fasta:
        contig_list = list(zip(fasta.references, fasta.lengths, strict=True))
        sequences = {name: fasta.fetch(name) for name, _ in contig_list}
    _write_alignments(
        out,
        "wc",
        contigs=contig_list,
        header=_alignment_header(contig_list, sample, read_groups, assembly),
        sample=sample,
        sequences=sequences,
        reads_per_contig=reads_per_contig,
        read_length=read_length,
        unmapped_reads=unmapped_reads,
        read_groups=read_groups,
        seed=seed,
        reference_path=reference,
    )
    if index:
        pysam.samtools.index(str(out))
    return out


def vcf_text(
    *,
    samples: Sequence[str],
    contigs: ContigSpec = GRCH38_CONTIGS,
    variants_per_contig: int = 100,
    seed: int = 0,
    reference: str | None = None,
) -> str:
    """A sorted VCF 4.2 with biallelic SNVs and a GT for every sample."""
    rng = _rng(seed)
    contig_list = _contig_list(contigs)
    lines = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">']
    if reference:
        lines.append(f"##reference={reference}")
    lines += [f"##contig=<ID={name},length={length}>" for name, length in contig_list]
    lines.append('##INFO=<ID=AC,Number=A,Type=Integer,Description="Alternate allele count">')
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        columns += ["FORMAT", *samples]
    lines.append("\t".join(columns))
    n_samples = len(samples)
    for name, length in contig_list:
        span = max(variants_per_contig + 1, min(length, variants_per_contig * 100))
        for pos in sorted(rng.sample(range(1, span), variants_per_contig)):
            ref = rng.choice(_BASES)
            alt = rng.choice(_BASES.replace(ref, ""))
            fields = f"{name}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t"
            if n_samples:
                genotypes = rng.choices(_GENOTYPES, _GENOTYPE_WEIGHTS, k=n_samples)
                ac = sum(g.count("1") for g in genotypes)
                lines.append(f"{fields}AC={ac}\tGT\t" + "\t".join(genotypes))
            else:
                lines.append(f"{fields}.")
    return "\n".join(lines) + "\n"


def bgzip_text(path: PathArg, text: str) -> Path:
    """Compress text as BGZF (what ``bgzip`` writes), without indexing it."""
    out = Path(path)
    with pysam.BGZFile(str(out), "wb", index=None) as f:
        f.write(text.encode("utf-8"))
    return out


def write_vcf(
    path: PathArg,
    *,
    samples: Sequence[str],
    contigs: ContigSpec = GRCH38_CONTIGS,
    variants_per_contig: int = 100,
    seed: int = 0,
    reference: str | None = None,
) -> Path:
    """An uncompressed VCF (cannot be indexed)."""
    out = Path(path)
    text = vcf_text(
        samples=samples,
        contigs=contigs,
        variants_per_contig=variants_per_contig,
        seed=seed,
        reference=reference,
    )
    out.write_text(text, encoding="utf-8")
    return out


def write_vcf_gz(
    path: PathArg,
    *,
    samples: Sequence[str],
    contigs: ContigSpec = GRCH38_CONTIGS,
    variants_per_contig: int = 100,
    index: bool = True,
    csi: bool = False,
    seed: int = 0,
    reference: str | None = None,
) -> Path:
    """A BGZF-compressed VCF and, by default, its ``.tbi`` (``.csi`` with ``csi=True``).

    The text is built in memory and compressed by htslib in one call: 200 samples by a few
    thousand variants takes a fraction of a second, unlike writing records through pysam.
    """
    out = bgzip_text(
        path,
        vcf_text(
            samples=samples,
            contigs=contigs,
            variants_per_contig=variants_per_contig,
            seed=seed,
            reference=reference,
        ),
    )
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True, csi=csi)
    return out


def write_bcf(
    path: PathArg,
    *,
    samples: Sequence[str],
    contigs: ContigSpec = GRCH38_CONTIGS,
    variants_per_contig: int = 100,
    index: bool = True,
    seed: int = 0,
    reference: str | None = None,
) -> Path:
    """A compressed BCF and, by default, its ``.csi``."""
    out = Path(path)
    staging = out.with_name(f".{out.name}.staging.vcf")
    write_vcf(
        staging,
        samples=samples,
        contigs=contigs,
        variants_per_contig=variants_per_contig,
        seed=seed,
        reference=reference,
    )
    try:
        # --no-version keeps the command line (and its temporary path) out of the header,
        # so the same seed gives the same bytes.
        pysam.bcftools.view("--no-version", "-Ob", "-o", str(out), str(staging), catch_stdout=False)
    finally:
        staging.unlink(missing_ok=True)
    if index:
        pysam.bcftools.index("--force", "--csi", str(out))
    return out
