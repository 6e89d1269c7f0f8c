"""The beacon's variant index: started by the release, built by the task, never by consent."""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

import pysam
import pytest

from datasets import services, synthetic
from datasets.genomics.variants import bitmap_members, indexed_variants, normalise_chrom
from datasets.models import Dataset, Variant, VariantIndex, VariantIndexStatus
from datasets.tasks import build_variant_index_task
from datasets.transitions import VARIANT_INDEX_TRANSITIONS
from portal.models import AuditEvent, User
from portal.transitions import TransitionError, transition
from tests.datasets.conftest import register, validate_now

if TYPE_CHECKING:
    from pathlib import Path

    from tests.datasets.conftest import GoodFiles, PlaceFile

MIXED = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=248956422>
##contig=<ID=chrM,length=16569>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3
chr1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/0\t0|1\t1/1
chr1\t200\t.\tC\tT,CA\t.\tPASS\t.\tGT\t0/2\t./.\t1/2
chr1\t300\t.\tG\tA\t.\tPASS\t.\tGT\t0/0\t./.\t0|0
chr1\t400\t.\tGTT\tG\t.\tPASS\t.\tGT\t./1\t0/0\t0/0
chrM\t73\t.\tA\tG\t.\tPASS\t.\tGT\t1\t0\t1
"""


def test_indexed_variants_one_record_per_carried_allele(tmp_path: Path) -> None:
    path = synthetic.bgzip_text(tmp_path / "mixed.vcf.gz", MIXED)

    found = [
        (v.chrom, v.position, v.ref, v.alt, v.kind, v.carrier_count, bitmap_members(v.carriers))
        for v in indexed_variants(path, ["S1", "S2", "S3"])
    ]

    assert found == [
        ("1", 100, "A", "G", "SNP", 2, [1, 2]),
        ("1", 200, "C", "T", "SNP", 1, [2]),
        ("1", 200, "C", "CA", "INS", 2, [0, 2]),
        # chr1:300 has no carrier: not indexed.
        ("1", 400, "GTT", "G", "DEL", 1, [0]),
        ("MT", 73, "A", "G", "SNP", 2, [0, 2]),
    ]


@pytest.mark.parametrize(
    ("name", "normal"),
    [("chr1", "1"), ("1", "1"), ("chrX", "X"), ("x", "X"), ("chrM", "MT"), ("MT", "MT")],
)
def test_normalise_chrom(name: str, normal: str) -> None:
    assert normalise_chrom(name) == normal


def _release(steward: User, dataset: Dataset, place: PlaceFile, source: Path) -> None:
    place(source)
    validate_now(steward, register(steward, dataset, source.name)[0])
    services.samples_link(
        actor=steward,
        dataset=dataset,
        choices=[
            services.SampleChoice(s, unlinked=True)
            for s in dataset.samples.values_list("sample_id", flat=True)
        ],
    )
    services.dataset_release(actor=steward, dataset=dataset)


def test_release_builds_the_index_of_each_vcf(
    steward: User,
    dataset: Dataset,
    place: PlaceFile,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    source = synthetic.bgzip_text(tmp_path / "mixed.vcf.gz", MIXED)
    synthetic.pysam.tabix_index(str(source), preset="vcf", force=True)

    with django_capture_on_commit_callbacks(execute=True):
        _release(steward, dataset, place, source)

    index = VariantIndex.objects.get(file__dataset=dataset)
    assert index.status == VariantIndexStatus.READY
    assert index.variant_count == 5
    samples = dict(dataset.samples.values_list("sample_id", "pk"))
    assert index.sample_pks == [samples["S1"], samples["S2"], samples["S3"]]
    insertion = Variant.objects.get(index=index, position=200, alt="CA")
    assert (insertion.chrom, insertion.ref, insertion.carrier_count) == ("1", "C", 2)
    assert bitmap_members(bytes(insertion.carriers)) == [0, 2]
    assert AuditEvent.objects.filter(action="variantindex.ready").count() == 1


def test_a_bam_only_dataset_has_no_index(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _release(steward, dataset, place, good.bam)

    assert not VariantIndex.objects.exists()


def test_a_file_changed_after_validation_fails_the_build(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile, data_root: Path
) -> None:
    _release(steward, dataset, place, good.vcf_gz)  # the task is not run: nothing committed
    index = VariantIndex.objects.get()
    assert index.status == VariantIndexStatus.BUILDING
    target = data_root / good.vcf_gz.name
    os.utime(target, ns=(1, 1))

    assert build_variant_index_task(index.pk) == VariantIndexStatus.FAILED

    index.refresh_from_db()
    assert "modified after it was validated" in index.message
    assert not Variant.objects.exists()
    # A retry builds again, and fails again while the file is still not the one validated.
    services.variant_index_retry(actor=steward, index=index)
    assert build_variant_index_task(index.pk) == VariantIndexStatus.FAILED
    assert AuditEvent.objects.filter(action="variantindex.failed").count() == 2


def test_the_task_does_nothing_twice(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    _release(steward, dataset, place, good.vcf_gz)
    index = VariantIndex.objects.get()

    assert build_variant_index_task(index.pk) == VariantIndexStatus.READY
    rows = Variant.objects.count()
    assert build_variant_index_task(index.pk) == "skipped (ready)"
    assert build_variant_index_task(10**9) == "missing"

    assert rows == Variant.objects.count() == _carried_sites(good.vcf_gz)


def _carried_sites(path: Path) -> int:
    """Sites where some sample carries the (single) alternate allele, read through pysam."""
    with pysam.VariantFile(str(path)) as vcf:
        return sum(
            any(1 in (sample["GT"] or ()) for sample in record.samples.values()) for record in vcf
        )


def test_consent_changes_leave_the_index_alone(
    steward: User, dataset: Dataset, good: GoodFiles, place: PlaceFile
) -> None:
    _release(steward, dataset, place, good.vcf_gz)
    index = VariantIndex.objects.get()
    build_variant_index_task(index.pk)
    before = list(Variant.objects.order_by("pk").values_list("pk", "carriers"))

    from consent.models import CurrentConsent

    CurrentConsent.objects.update(status="no_use")  # whatever consent does, rows stay

    assert list(Variant.objects.order_by("pk").values_list("pk", "carriers")) == before


# Written out, not read from the table under test: a wrong pair in the table fails here.
INDEX_ALLOWED = {
    (VariantIndexStatus.BUILDING, VariantIndexStatus.READY),
    (VariantIndexStatus.BUILDING, VariantIndexStatus.FAILED),
    (VariantIndexStatus.FAILED, VariantIndexStatus.BUILDING),
}


def test_variant_index_transition_table_is_as_documented() -> None:
    pairs = {(s, to) for s, targets in VARIANT_INDEX_TRANSITIONS.items() for to in targets}

    assert pairs == INDEX_ALLOWED
    assert set(VARIANT_INDEX_TRANSITIONS) == set(VariantIndexStatus)


@pytest.mark.parametrize(
    ("start", "to"), list(itertools.product(VariantIndexStatus, VariantIndexStatus))
)
def test_variant_index_transition_table(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    start: VariantIndexStatus,
    to: VariantIndexStatus,
) -> None:
    _release(steward, dataset, place, good.vcf_gz)
    index = VariantIndex.objects.get()
    VariantIndex.objects.filter(pk=index.pk).update(status=start)
    index.refresh_from_db()

    if (start, to) in INDEX_ALLOWED:
        transition(index, to, table=VARIANT_INDEX_TRANSITIONS, actor=steward)
        index.refresh_from_db()
        assert index.status == to
    else:
        with pytest.raises(TransitionError, match=f"cannot become {to.value}"):
            transition(index, to, table=VARIANT_INDEX_TRANSITIONS, actor=steward)
        index.refresh_from_db()
        assert index.status == start
