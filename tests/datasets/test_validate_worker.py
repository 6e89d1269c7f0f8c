from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings

from datasets import services
from datasets.models import DataFile, FileStatus
from portal.models import User
from tests.conftest import wait_for
from tests.datasets.conftest import make_dataset

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_folder() -> Iterator[Path]:
    """A folder in the data root the worker process was started with (its own settings)."""
    folder = Path(settings.CUSTODIAN_DATA_ROOT) / f"test-{uuid.uuid4().hex[:10]}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _statuses(*files: DataFile) -> list[str]:
    return [DataFile.objects.get(pk=f.pk).status for f in files]


def test_worker_validates_each_file_and_a_failed_one_is_retried(
    celery_worker: Any, steward: User, committee: Any, good: GoodFiles, worker_folder: Path
) -> None:
    shutil.copy2(good.vcf_gz, worker_folder / "cohort.vcf.gz")
    shutil.copy2(f"{good.vcf_gz}.tbi", worker_folder / "cohort.vcf.gz.tbi")
    cut = worker_folder / "cut.bam"
    cut.write_bytes(good.bam.read_bytes()[:5000])
    prefix = worker_folder.name
    dataset = make_dataset(steward, committee)

    vcf, bam, tbi = services.datafiles_register(
        actor=steward,
        dataset=dataset,
        entries=[
            services.FileEntry(f"{prefix}/cohort.vcf.gz"),
            services.FileEntry(f"{prefix}/cut.bam"),
        ],
    )

    done = {FileStatus.VALID, FileStatus.FAILED}
    assert wait_for(lambda: set(_statuses(vcf, bam, tbi)) <= done, timeout=60), "".join(
        celery_worker.log[-30:]
    )
    assert _statuses(vcf, tbi, bam) == [FileStatus.VALID, FileStatus.VALID, FileStatus.FAILED]
    vcf.refresh_from_db()
    assert vcf.bytes_hashed == vcf.size == good.vcf_gz.stat().st_size
    assert dataset.samples.count() == len(good.vcf_samples)
    bam.refresh_from_db()
    assert bam.validation_message.startswith(f"{prefix}/cut.bam: the file is truncated")

    shutil.copy2(good.bam, cut)
    services.datafile_validation_retry(actor=steward, file=bam)

    assert wait_for(lambda: _statuses(bam) == [FileStatus.VALID], timeout=60), "".join(
        celery_worker.log[-30:]
    )
