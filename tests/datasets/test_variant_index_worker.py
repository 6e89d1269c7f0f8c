"""End to end through a real worker: a release queues the index build, the worker builds it."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings

from datasets import services
from datasets.models import FileStatus, Variant, VariantIndex, VariantIndexStatus
from portal.models import User
from tests.conftest import wait_for
from tests.datasets.conftest import make_dataset

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_folder() -> Iterator[Path]:
    folder = Path(settings.CUSTODIAN_DATA_ROOT) / f"test-{uuid.uuid4().hex[:10]}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _status(index: Any) -> str:
    return VariantIndex.objects.get(pk=index.pk).status


def test_the_worker_builds_the_index_of_a_released_dataset(
    celery_worker: Any, steward: User, committee: Any, good: GoodFiles, worker_folder: Path
) -> None:
    shutil.copy2(good.vcf_gz, worker_folder / "cohort.vcf.gz")
    shutil.copy2(f"{good.vcf_gz}.tbi", worker_folder / "cohort.vcf.gz.tbi")
    dataset = make_dataset(steward, committee)
    vcf, _tbi = services.datafiles_register(
        actor=steward,
        dataset=dataset,
        entries=[services.FileEntry(f"{worker_folder.name}/cohort.vcf.gz")],
    )
    assert wait_for(lambda: dataset.files.get(pk=vcf.pk).status == FileStatus.VALID, timeout=60)
    services.samples_link(
        actor=steward,
        dataset=dataset,
        choices=[services.SampleChoice(s, unlinked=True) for s in good.vcf_samples],
    )

    services.dataset_release(actor=steward, dataset=dataset)

    index = VariantIndex.objects.get(file=vcf)
    assert wait_for(lambda: _status(index) != VariantIndexStatus.BUILDING, timeout=60), "".join(
        celery_worker.log[-30:]
    )
    index.refresh_from_db()
    assert index.status == VariantIndexStatus.READY, index.message
    assert index.variant_count == Variant.objects.filter(index=index).count() > 0
