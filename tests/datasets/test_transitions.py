from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus
from datasets.transitions import DATASET_TRANSITIONS, FILE_TRANSITIONS
from portal.models import User
from portal.transitions import TransitionError, transition
from tests.datasets.conftest import register

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile

# Written out, not read from the tables under test: a wrong pair in a table fails here.
DATASET_ALLOWED = {
    (DatasetStatus.DRAFT, DatasetStatus.RELEASED),
    (DatasetStatus.RELEASED, DatasetStatus.RETIRED),
}
FILE_ALLOWED = {
    (FileStatus.PENDING, FileStatus.VALIDATING),
    (FileStatus.VALIDATING, FileStatus.VALID),
    (FileStatus.VALIDATING, FileStatus.FAILED),
    (FileStatus.FAILED, FileStatus.PENDING),
}


@pytest.mark.parametrize(("start", "to"), list(itertools.product(DatasetStatus, DatasetStatus)))
def test_dataset_transition_table(
    steward: User, dataset: Dataset, start: DatasetStatus, to: DatasetStatus
) -> None:
    Dataset.objects.filter(pk=dataset.pk).update(status=start)
    dataset.refresh_from_db()

    if (start, to) in DATASET_ALLOWED:
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

    if (start, to) in FILE_ALLOWED:
        transition(file, to, table=FILE_TRANSITIONS, actor=steward)
        file.refresh_from_db()
        assert file.status == to
    else:
        with pytest.raises(TransitionError, match=f"A data file that is {start.value} cannot"):
            transition(file, to, table=FILE_TRANSITIONS, actor=steward)
        file.refresh_from_db()
        assert file.status == start


def _pairs(table: Mapping[Any, frozenset[Any]]) -> set[tuple[Any, Any]]:
    return {(start, to) for start, targets in table.items() for to in targets}


def test_transition_tables_are_as_documented() -> None:
    assert _pairs(DATASET_TRANSITIONS) == DATASET_ALLOWED
    assert _pairs(FILE_TRANSITIONS) == FILE_ALLOWED
    assert set(DATASET_TRANSITIONS) == set(DatasetStatus)
    assert set(FILE_TRANSITIONS) == set(FileStatus)
