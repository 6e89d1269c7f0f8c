from __future__ import annotations

import hashlib
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pysam
import pytest

from datasets import synthetic
from datasets.genomics import (
    BGZF_EOF,
    FileFormat,
    GenomicFileError,
    Region,
    build_filtered_copy,
    cache_name,
    check_bgzf_eof,
    concatenate_pieces,
    detect_format,
    filter_piece,
    filtering,
    keeps_all,
    regions,
    samples_hash,
)

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles

# Debian's bcftools, a separate build from pysam's: the copies must satisfy both.
BCFTOOLS = "/usr/bin/bcftools"
RECORD = "%CHROM\t%POS\t%REF\t%ALT\t%INFO/AC\t%INFO/AN[\t%GT]\n"
# A deletion at chr1:16380 whose REF reaches past 16384, where the index's second window
# (and so a piece boundary) starts.
SPANNING_POS = 16380
SPANNING_REF = "ACGTACGTACGT"


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _query(path: Path, *options: str) -> list[str]:
    return _run(BCFTOOLS, "query", *options, "-f", RECORD, str(path)).splitlines()


def _reference_records(source: Path, keep: list[str], *options: str) -> list[str]:
    """What one pass of ``bcftools view -s`` gives, in the file's sample order."""
    with pysam.VariantFile(str(source)) as f:
        ordered = [s for s in f.header.samples if s in set(keep)]
    subset = _run(BCFTOOLS, "view", "--no-version", *options, "-s", ",".join(ordered), str(source))
    return subprocess.run(
        [BCFTOOLS, "query", "-f", RECORD, "-"],
        input=subset,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()


def _samples(path: Path) -> list[str]:
    return _run(BCFTOOLS, "query", "-l", str(path)).split()


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two contigs, 60 samples, enough records for several BGZF blocks per contig, and a
    deletion spanning the first index window boundary of chr1."""
    folder = tmp_path_factory.mktemp("filter")
    text = synthetic.vcf_text(samples=synthetic.sample_names(60), variants_per_contig=3000, seed=7)
    header = [line for line in text.splitlines() if line.startswith("#")]
    body = [line for line in text.splitlines() if not line.startswith("#")]
    genotypes = "\t".join(["0/1"] * 60)
    body.append(f"chr1\t{SPANNING_POS}\tdel1\t{SPANNING_REF}\tA\t.\tPASS\tAC=60\tGT\t{genotypes}")
    order = {"chr1": 0, "chr2": 1}
    body.sort(key=lambda line: (order[line.split("\t")[0]], int(line.split("\t")[1])))
    path = synthetic.bgzip_text(folder / "cohort.vcf.gz", "\n".join(header + body) + "\n")
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def _keep(source: Path, fraction: float = 0.9) -> list[str]:
    samples = _samples(source)
    return samples[: int(len(samples) * fraction)]


# --------------------------------------------------------------------------- the copy


def test_copy_keeps_exactly_the_chosen_samples_in_file_order(
    good: GoodFiles, tmp_path: Path
) -> None:
    keep = ["HG00009", "HG00002", "HG00005"]
    copy = build_filtered_copy(good.vcf_gz, keep, tmp_path / "copy.vcf.gz")
    assert _samples(copy.path) == ["HG00002", "HG00005", "HG00009"]
    assert copy.samples == ("HG00002", "HG00005", "HG00009")
    assert copy.samples_hash == samples_hash(keep)
    assert copy.format is FileFormat.VCF_GZ
    assert copy.index_path == tmp_path / "copy.vcf.gz.tbi"


def test_copy_genotypes_equal_a_single_bcftools_pass(cohort: Path, tmp_path: Path) -> None:
    keep = _keep(cohort)
    copy = build_filtered_copy(
        cohort, keep, tmp_path / "copy.vcf.gz", pieces=regions(cohort, min_piece_bytes=0)
    )
    records = _query(copy.path)
    expected = _reference_records(cohort, keep)
    assert len(records) == len(expected) == 6001
    assert records == expected
    # AC/AN are recounted over the kept samples, so they tell nothing of the others.
    for line in records:
        _chrom, _pos, _ref, _alt, ac, an, *genotypes = line.split("\t")
        assert len(genotypes) == len(keep)
        assert int(ac) == sum(g.count("1") for g in genotypes)
        assert int(an) == sum(2 for g in genotypes if g != "./.")


def test_copy_is_one_valid_bgzf_stream_with_one_eof_block(cohort: Path, tmp_path: Path) -> None:
    copy = build_filtered_copy(
        cohort, _keep(cohort), tmp_path / "copy.vcf.gz", pieces=regions(cohort, min_piece_bytes=0)
    )
    data = copy.path.read_bytes()
    assert data.endswith(BGZF_EOF)
    assert data.count(BGZF_EOF) == 1
    assert check_bgzf_eof(copy.path)
    offset = 0
    while offset < len(data):  # every byte belongs to a well-formed block
        assert data[offset : offset + 4] == b"\x1f\x8b\x08\x04"
        offset += int.from_bytes(data[offset + 16 : offset + 18], "little") + 1
    assert offset == len(data)
    assert detect_format(copy.path) is FileFormat.VCF_GZ
    _run(BCFTOOLS, "view", "-Ou", "-o", "/dev/null", str(copy.path))  # raises if invalid


def test_copy_answers_region_queries_through_its_index(cohort: Path, tmp_path: Path) -> None:
    keep = _keep(cohort, 0.5)
    copy = build_filtered_copy(
        cohort, keep, tmp_path / "copy.vcf.gz", pieces=regions(cohort, min_piece_bytes=0)
    )
    assert copy.index_path.is_file()
    for region in ("chr1:100-200", "chr1:16000-17000", "chr2:150000-160000"):
        got = _query(copy.path, "-r", region)
        assert got
        assert got == _reference_records(cohort, keep, "-r", region)


def test_bcf_source_gives_an_indexed_bcf_copy(good: GoodFiles, tmp_path: Path) -> None:
    keep = list(good.vcf_samples[1::2])
    copy = build_filtered_copy(good.bcf, keep, tmp_path / "copy.bcf")
    assert detect_format(copy.path) is FileFormat.BCF
    assert copy.index_path == tmp_path / "copy.bcf.csi"
    assert _samples(copy.path) == keep
    assert _query(copy.path) == _reference_records(good.bcf, keep)
    assert _query(copy.path, "-r", "chr2:100-2000") == _reference_records(
        good.bcf, keep, "-r", "chr2:100-2000"
    )
    assert copy.path.read_bytes().count(BGZF_EOF) == 1


def test_bcf_split_into_pieces_matches_single_pass(good: GoodFiles, tmp_path: Path) -> None:
    keep = list(good.vcf_samples[:5])
    plan = [Region("chr1", 0, 16384), Region("chr1", 16384), Region("chr2")]
    copy = build_filtered_copy(good.bcf, keep, tmp_path / "copy.bcf", pieces=plan)
    assert copy.pieces == 3
    assert _query(copy.path) == _reference_records(good.bcf, keep)


def test_two_processes_build_the_same_copy(cohort: Path, tmp_path: Path) -> None:
    keep = _keep(cohort)
    plan = regions(cohort, min_piece_bytes=0)
    alone = build_filtered_copy(cohort, keep, tmp_path / "alone.vcf.gz", pieces=plan)
    with ProcessPoolExecutor(max_workers=2) as pool:
        spread = build_filtered_copy(
            cohort, keep, tmp_path / "spread.vcf.gz", pieces=plan, executor=pool
        )
    assert spread.path.read_bytes() == alone.path.read_bytes()


# ------------------------------------------------------------------------------ pieces


def test_regions_split_large_contigs_into_ordered_ranges(cohort: Path) -> None:
    plan = regions(cohort, pieces=8, min_piece_bytes=0)
    assert len(plan) > 2
    for contig in ("chr1", "chr2"):
        ranges = [r for r in plan if r.contig == contig]
        assert len(ranges) > 1
        assert ranges[0].start == 0
        assert ranges[-1].end is None
        for before, after in zip(ranges, ranges[1:], strict=False):
            assert before.end == after.start  # contiguous, no overlap, no gap
    assert [r.contig for r in plan] == sorted(r.contig for r in plan)


def test_regions_keep_small_files_whole_per_contig(good: GoodFiles) -> None:
    assert regions(good.vcf_gz) == [Region("chr1"), Region("chr2")]
    assert regions(good.bcf) == [Region("chr1"), Region("chr2")]


def test_pieces_hold_every_record_exactly_once(cohort: Path, tmp_path: Path) -> None:
    keep = _keep(cohort)
    plan = regions(cohort, pieces=8, min_piece_bytes=0)
    pieces = [filter_piece(cohort, r, keep, tmp_path / f"{n}.vcf.gz") for n, r in enumerate(plan)]
    records = [line for piece in pieces for line in _query(piece)]
    assert records == _reference_records(cohort, keep)
    keys = [tuple(line.split("\t")[:4]) for line in records]
    assert len(keys) == len(set(keys))


def test_record_spanning_a_boundary_is_in_the_piece_of_its_pos(
    cohort: Path, tmp_path: Path
) -> None:
    keep = _keep(cohort)
    first = filter_piece(cohort, Region("chr1", 0, 16384), keep, tmp_path / "a.vcf.gz")
    second = filter_piece(cohort, Region("chr1", 16384, None), keep, tmp_path / "b.vcf.gz")
    spanning = [line for line in _query(first) if line.split("\t")[2] == SPANNING_REF]
    assert len(spanning) == 1
    assert all(int(line.split("\t")[1]) <= 16384 for line in _query(first))
    assert all(int(line.split("\t")[1]) > 16384 for line in _query(second))
    assert not [line for line in _query(second) if line.split("\t")[2] == SPANNING_REF]
    # An overlap query would have returned it in both; a position query does not.
    overlapping = _run(BCFTOOLS, "query", "-r", "chr1:16385-16390", "-f", "%REF\n", str(cohort))
    assert SPANNING_REF in overlapping.split()
    joined = concatenate_pieces([first, second], tmp_path / "chr1.vcf.gz")
    assert _query(joined) == _reference_records(cohort, keep, "-r", "chr1")


def test_concatenation_refuses_a_truncated_piece(good: GoodFiles, tmp_path: Path) -> None:
    piece = filter_piece(good.vcf_gz, Region("chr1"), ["HG00001"], tmp_path / "a.vcf.gz")
    piece.write_bytes(piece.read_bytes()[: -len(BGZF_EOF)])
    with pytest.raises(GenomicFileError, match="end-of-file block"):
        concatenate_pieces([piece], tmp_path / "joined.vcf.gz")


def test_concatenation_refuses_pieces_with_other_samples(good: GoodFiles, tmp_path: Path) -> None:
    a = filter_piece(good.vcf_gz, Region("chr1"), ["HG00001"], tmp_path / "a.vcf.gz")
    b = filter_piece(good.vcf_gz, Region("chr2"), ["HG00002"], tmp_path / "b.vcf.gz")
    with pytest.raises(GenomicFileError, match="header differs"):
        concatenate_pieces([a, b], tmp_path / "joined.vcf.gz")


# -------------------------------------------------------------------------- refusals


def test_keeping_no_sample_is_refused(good: GoodFiles, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no sample to keep"):
        build_filtered_copy(good.vcf_gz, [], tmp_path / "copy.vcf.gz")
    assert list(tmp_path.iterdir()) == []


def test_keeping_an_unknown_sample_is_refused(good: GoodFiles, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"1 sample\(s\) to keep are not in the file: NOBODY"):
        build_filtered_copy(good.vcf_gz, ["HG00001", "NOBODY"], tmp_path / "copy.vcf.gz")
    assert list(tmp_path.iterdir()) == []


def test_unindexed_or_plain_sources_are_refused(good: GoodFiles, tmp_path: Path) -> None:
    with pytest.raises(GenomicFileError, match="only bgzipped VCF and BCF"):
        build_filtered_copy(good.plain_vcf, ["HG00001"], tmp_path / "copy.vcf.gz")
    bare = tmp_path / "bare.vcf.gz"
    bare.write_bytes(good.vcf_gz.read_bytes())
    with pytest.raises(GenomicFileError, match="no index beside it"):
        regions(bare)


def test_a_failed_piece_leaves_nothing_under_the_final_name(
    cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = filtering.filter_piece
    calls: list[Region] = []

    def failing(source: Any, region: Region, *args: Any, **kwargs: Any) -> Path:
        calls.append(region)
        if len(calls) == 2:
            raise GenomicFileError("worker lost", code="test")
        return real(source, region, *args, **kwargs)

    monkeypatch.setattr(filtering, "filter_piece", failing)
    out = tmp_path / "out" / "copy.vcf.gz"
    out.parent.mkdir()
    with pytest.raises(GenomicFileError, match="worker lost"):
        build_filtered_copy(cohort, _keep(cohort), out, pieces=regions(cohort, min_piece_bytes=0))
    assert len(calls) == 2
    assert list(out.parent.iterdir()) == []  # no copy, no index, no pieces, no partial file


def test_the_copy_appears_only_by_rename(
    good: GoodFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "copy.vcf.gz"
    seen: list[tuple[str, bool]] = []
    real = filtering.index_copy

    def watching(path: Any, index_path: Any, index_format: FileFormat) -> Path:
        seen.append((Path(path).name, out.exists()))
        return real(path, index_path, index_format)

    monkeypatch.setattr(filtering, "index_copy", watching)
    build_filtered_copy(good.vcf_gz, ["HG00001"], out)
    [(written_as, final_existed)] = seen
    assert written_as != out.name
    assert written_as.startswith(".copy.vcf.gz.")
    assert not final_existed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.vcf.gz", "copy.vcf.gz.tbi"]


# ------------------------------------------------------------------------ cache keys


def test_samples_hash_ignores_order_and_repeats() -> None:
    expected = hashlib.sha256(b"HG00001\nHG00002\nHG00010").hexdigest()
    assert samples_hash(["HG00010", "HG00001", "HG00002"]) == expected
    assert samples_hash(["HG00002", "HG00001", "HG00010", "HG00001"]) == expected
    assert samples_hash(["HG00001"]) != expected


def test_cache_name_joins_file_and_sample_set_hashes() -> None:
    file_sha = "a" * 64
    set_hash = samples_hash(["HG00001"])
    assert cache_name(file_sha, set_hash, FileFormat.VCF_GZ) == f"{file_sha}.{set_hash}.vcf.gz"
    assert cache_name(file_sha, set_hash, "bcf") == f"{file_sha}.{set_hash}.bcf"
    with pytest.raises(ValueError, match="file SHA-256"):
        cache_name("../etc/passwd", set_hash, FileFormat.BCF)
    with pytest.raises(ValueError, match="only VCF.gz and BCF"):
        cache_name(file_sha, set_hash, FileFormat.BAM)


def test_keeps_all_when_every_sample_of_the_file_is_kept() -> None:
    header = ["HG00001", "HG00002"]
    assert keeps_all(header, ["HG00002", "HG00001"])
    assert keeps_all(header, ["HG00001", "HG00002", "HG00003"])
    assert not keeps_all(header, ["HG00001"])
