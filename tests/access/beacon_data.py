"""The beacon test file's contents (no fixtures here: the browser tests import it too).

Samples S000-S005 consent to everything in the access tests, S006-S007 refuse research,
U000 is unlinked and C000 is a community's member; one allele per situation.
"""

from __future__ import annotations

from datasets import synthetic

SAMPLES = ("S000", "S001", "S002", "S003", "S004", "S005", "S006", "S007", "U000", "C000")
# (POS, REF, ALT, carriers): the alleles of the beacon's one file, on chr1 unless named.
ALLELES = (
    (1000, "A", "G", ("S006",)),  # only a participant who refused research
    (2000, "C", "T", ("S000",)),  # one consenting participant
    (3000, "G", "A", ("U000",)),  # only the unlinked sample
    (4000, "T", "C", ("C000",)),  # only the community's member
    (5000, "A", "T", ("S000", "S001", "S002", "S003", "S004", "S005")),  # six consenting
    (6000, "C", "G", ("S001", "S002")),  # two consenting
    (7000, "GA", "G", ("S003",)),  # a deletion
    (7100, "T", "TTT", ("S004", "S006")),  # an insertion
)


def vcf_text() -> str:
    lines = [
        "##fileformat=VCFv4.2",
        "##reference=GRCh38",
        *(f"##contig=<ID={name},length={length}>" for name, length in synthetic.GRCH38_CONTIGS),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(SAMPLES),
    ]
    for pos, ref, alt, carriers in ALLELES:
        genotypes = ["0/1" if s in carriers else "0/0" for s in SAMPLES]
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(genotypes))
    return "\n".join(lines) + "\n"
