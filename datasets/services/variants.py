"""The beacon's variant index: started when a dataset is released, built by a worker.

The index records which sample columns of each released VCF.gz/BCF carry each allele. It is
data about the files, so it never changes with consent: the beacon applies the consent
filter at query time (sample -> participant -> current consent).
"""

from __future__ import annotations

import functools
from itertools import islice

from django.db import transaction
from django.utils import timezone

from datasets import genomics
from datasets.genomics.variants import indexed_variants
from datasets.models import (
    DataFile,
    DataFileFormat,
    Dataset,
    FileStatus,
    Sample,
    Variant,
    VariantIndex,
    VariantIndexStatus,
)
from datasets.paths import relative_message
from datasets.selectors import FileChangedError, datafile_check_unchanged
from datasets.tasks import build_variant_index_task
from datasets.transitions import VARIANT_INDEX_TRANSITIONS
from portal.models import User
from portal.transitions import transition

INDEXED_FORMATS = (DataFileFormat.VCF_GZ, DataFileFormat.BCF)
# Rows written per INSERT: large enough to amortise the round trip, small enough to stream.
BATCH = 5_000


def variant_indexes_start(*, actor: User | None, dataset: Dataset) -> list[VariantIndex]:
    """A BUILDING index for each valid VCF.gz/BCF of the dataset that has sample columns,
    each queued on commit. Call inside the releasing transaction."""
    started = []
    files = DataFile.objects.filter(
        dataset=dataset, format__in=INDEXED_FORMATS, status=FileStatus.VALID
    ).exclude(variant_index__isnull=False)
    for file in files:
        if not file.samples:
            continue  # a sites-only file has no carriers to index
        index = VariantIndex.objects.create(file=file, assembly=file.reference_genome)
        started.append(index)
        transaction.on_commit(functools.partial(build_variant_index_task.delay, index.pk))
    return started


def variant_index_retry(*, actor: User | None, index: VariantIndex) -> VariantIndex:
    """FAILED -> BUILDING, queued again on commit."""
    with transaction.atomic(durable=True):
        locked = VariantIndex.objects.select_for_update().get(pk=index.pk)
        transition(
            locked,
            VariantIndexStatus.BUILDING,
            table=VARIANT_INDEX_TRANSITIONS,
            actor=actor,
            reason="retry",
            extra={"message": "", "queued_at": timezone.now()},
        )
        index_id = locked.pk
        transaction.on_commit(lambda: build_variant_index_task.delay(index_id))
    return locked


def variant_index_build(*, index: VariantIndex) -> VariantIndex:
    """1. check the file is still the one validated; 2. map its sample columns to Sample rows;
    3. write every carried allele in one transaction (nothing half-built is ever queried:
    queries read READY indexes only); 4. READY with the count, or FAILED with the reason."""
    file = DataFile.objects.select_related("dataset").get(pk=index.file_id)
    try:
        path = datafile_check_unchanged(file)
        pks = dict(Sample.objects.filter(dataset=file.dataset).values_list("sample_id", "pk"))
        missing = [name for name in file.samples if name not in pks]
        if missing:
            return variant_index_failed(
                index=index, message=f"{file.path}: samples {missing[:5]} have no sample record."
            )
        with transaction.atomic(durable=True):
            locked = VariantIndex.objects.select_for_update().get(pk=index.pk)
            if locked.status != VariantIndexStatus.BUILDING:
                return locked
            Variant.objects.filter(index=locked).delete()  # a rerun after a crash
            count = 0
            found = (
                Variant(
                    index=locked,
                    chrom=v.chrom,
                    position=v.position,
                    ref=v.ref,
                    alt=v.alt,
                    kind=v.kind,
                    carrier_count=v.carrier_count,
                    carriers=v.carriers,
                )
                for v in indexed_variants(path, file.samples)
            )
            while batch := list(islice(found, BATCH)):
                Variant.objects.bulk_create(batch)
                count += len(batch)
            transition(
                locked,
                VariantIndexStatus.READY,
                table=VARIANT_INDEX_TRANSITIONS,
                actor=None,
                extra={
                    "sample_pks": [pks[name] for name in file.samples],
                    "variant_count": count,
                    "built_at": timezone.now(),
                },
            )
        return locked
    except FileChangedError as exc:
        return variant_index_failed(index=index, message=exc.message)
    except genomics.GenomicFileError as exc:
        return variant_index_failed(index=index, message=relative_message(exc.message))


def variant_index_failed(*, index: VariantIndex, message: str) -> VariantIndex:
    with transaction.atomic(durable=True):
        locked = VariantIndex.objects.select_for_update().get(pk=index.pk)
        if locked.status == VariantIndexStatus.BUILDING:
            transition(
                locked,
                VariantIndexStatus.FAILED,
                table=VARIANT_INDEX_TRANSITIONS,
                actor=None,
                reason=message,
                extra={"message": message},
            )
    return locked
