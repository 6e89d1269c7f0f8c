from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from consent.models import Participant
from datasets.demo import seed_demo_datasets
from datasets.models import DataFile, Dataset, DatasetStatus, FileStatus, LinkStatus
from portal.ledger import ledger_seal, ledger_tree_verify
from portal.models import AuditEvent, User
from tests.factories import ParticipantFactory


@pytest.fixture
def participants(db: None) -> list[Participant]:
    return [ParticipantFactory(study_id=f"CUST-{n:04d}") for n in range(1, 21)]


def _seed(steward: User, committee: Any, participants: list[Participant], root: Path) -> str:
    out = StringIO()
    seed_demo_datasets(
        steward=steward, committee=committee, participants=participants, data_root=root, stdout=out
    )
    return out.getvalue()


def test_demo_ends_with_two_released_datasets_and_is_idempotent(
    steward: User, committee: Any, participants: list[Participant], data_root: Path
) -> None:
    output = _seed(steward, committee, participants, data_root)

    datasets = list(Dataset.objects.order_by("accession"))
    assert [d.status for d in datasets] == [DatasetStatus.RELEASED] * 2
    cohort, tumour = datasets
    assert cohort.conditions.codes == ("GRU",)
    assert tumour.conditions.codes == ("DS", "NCU", "IRB")
    assert tumour.diseases == ["MONDO:0004992"]
    assert set(DataFile.objects.values_list("status", flat=True)) == {FileStatus.VALID}
    assert sorted(cohort.files.values_list("format", flat=True)) == ["tbi", "vcf.gz"]
    assert sorted(tumour.files.values_list("format", flat=True)) == ["bai"] * 3 + ["bam"] * 3
    vcf = cohort.files.get(format="vcf.gz")
    assert vcf.record_count == 3000
    assert vcf.contigs[0]["name"] == "chr1"
    assert cohort.samples.filter(link=LinkStatus.LINKED).count() == 20
    first = cohort.samples.get(sample_id="CUSTS0001")
    assert first.participant.study_id == "CUST-0001"
    assert tumour.samples.filter(link=LinkStatus.LINKED).count() == 3
    assert "validated here, synchronously, by the service the worker's task runs" in output
    assert (data_root / "demo" / "cohort" / "genotypes.vcf.gz.tbi").exists()

    counts = (Dataset.objects.count(), DataFile.objects.count(), AuditEvent.objects.count())
    again = _seed(steward, committee, participants, data_root)

    assert (Dataset.objects.count(), DataFile.objects.count(), AuditEvent.objects.count()) == (
        counts
    )
    assert "is already there" in again
    assert ledger_seal().tree_size == AuditEvent.objects.count()
    assert ledger_tree_verify().problem is None


def test_demo_refuses_a_folder_outside_the_data_root(
    steward: User, committee: Any, participants: list[Participant], data_root: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="is not inside CUSTODIAN_DATA_ROOT"):
        _seed(steward, committee, participants, tmp_path / "elsewhere")
