from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from datasets.models import DataFile, FileStatus

# Whole genomes are hundreds of GB: at a slow 50 MB/s from network storage, 500 GB takes
# under three hours. (With Redis as the broker, its visibility_timeout should exceed this,
# or a long validation is handed to a second worker; that one finds the work done.)
VALIDATION_SOFT_TIME_LIMIT = 6 * 3600
VALIDATION_TIME_LIMIT = VALIDATION_SOFT_TIME_LIMIT + 600


@shared_task(
    soft_time_limit=VALIDATION_SOFT_TIME_LIMIT,
    time_limit=VALIDATION_TIME_LIMIT,
    acks_late=True,
    reject_on_worker_lost=True,
)
def validate_datafile_task(file_id: int) -> str:
    """Validate one data file (and its index); a rerun finds it no longer VALIDATING."""
    # datasets.services queues this task, so it is imported here, not at the top.
    from datasets.services import datafile_validate, datafile_validation_interrupted

    file = DataFile.objects.filter(pk=file_id).first()
    if file is None:
        return "missing"
    if file.status != FileStatus.VALIDATING:
        return f"skipped ({file.status})"
    try:
        return datafile_validate(file=file).status
    except SoftTimeLimitExceeded:
        hours = VALIDATION_SOFT_TIME_LIMIT // 3600
        datafile_validation_interrupted(
            file=file,
            message=f"validation did not finish within {hours} hours; validate it again",
        )
        return FileStatus.FAILED


# 2,504 samples x 1,000,000 variants builds in minutes; a whole-genome cohort file of tens
# of millions of sites may take hours.
INDEX_SOFT_TIME_LIMIT = 6 * 3600


@shared_task(
    soft_time_limit=INDEX_SOFT_TIME_LIMIT,
    time_limit=INDEX_SOFT_TIME_LIMIT + 600,
    acks_late=True,
    reject_on_worker_lost=True,
)
def build_variant_index_task(index_id: int) -> str:
    """Build one file's beacon index; a rerun finds it no longer BUILDING and does nothing."""
    from datasets.models import VariantIndex, VariantIndexStatus
    from datasets.services.variants import variant_index_build, variant_index_failed

    index = VariantIndex.objects.filter(pk=index_id).first()
    if index is None:
        return "missing"
    if index.status != VariantIndexStatus.BUILDING:
        return f"skipped ({index.status})"
    try:
        return variant_index_build(index=index).status
    except SoftTimeLimitExceeded:
        hours = INDEX_SOFT_TIME_LIMIT // 3600
        message = f"the index was not built within {hours} hours; start it again"
        return variant_index_failed(index=index, message=message).status
