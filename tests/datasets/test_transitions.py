from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus
from datasets.transitions import DATASET_TRANSITIONS, FILE_TRANSITIONS
from portal.models import User
from portal.transitions import TransitionError, transition
from tests.datasets.conftest import register

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


@pytest.mark.parametrize(("start", "to"), list(itertools.product(DatasetStatus, DatasetStatus)))
def test_dataset_transition_table(
    steward: User, dataset: Dataset, start: DatasetStatus, to: DatasetStatus
) -> None:
    Dataset.objects.filter(pk=dataset.pk).update(status=start)
    dataset.refresh_from_db()

    if to in DATASET_TRANSITIONS[start]:
        transition(dataset, to, table=DATASET_TRANSITIONS, actor=steward)
        dataset.refresh_from_db()
        assert dataset.status == to
    else:
        with pytest.raises(TransitionError, match=f"cannot become {to.value}"):
            transition(dataset, to, table=DATASET_TRANSITIONS, actor=steward)
        dataset.refresh_from_db()
        assert dataset.status == start


@pytest.mark.parametrize(("start", "to"), list(itertools.product(FileStatus, FileStatus)))
def test_file_transition_table(
    steward: User,
    dataset: Dataset,
    good: GoodFiles,
    place: PlaceFile,
    start: FileStatus,
    to: FileStatus,
) -> None:
    place(good.bam, index=False)
    file = register(steward, dataset, good.bam.name)[0]
    DataFile.objects.filter(pk=file.pk).update(status=start)
    file.refresh_from_db()

    if to in FILE_TRANSITIONS[start]:
        transition(file, to, table=FILE_TRANSITIONS, actor=steward)
        file.refresh_from_db()
        assert file.status == to
    else:
        with pytest.raises(TransitionError, match=f"A data file that is {start.value} cannot"):
            transition(file, to, table=FILE_TRANSITIONS, actor=steward)
        file.refresh_from_db()
        assert file.status == start


def test_every_status_has_a_row() -> None:
    assert set(DATASET_TRANSITIONS) == set(DatasetStatus)
    assert set(FILE_TRANSITIONS) == set(FileStatus)
