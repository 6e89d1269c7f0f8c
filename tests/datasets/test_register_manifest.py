from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import CommandError, call_command

from datasets.models import DataFile, Dataset, FileStatus, LinkStatus
from portal.models import User
from tests.factories import ParticipantFactory

if TYPE_CHECKING:
    from tests.datasets.conftest import GoodFiles, PlaceFile


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(manifest: Path, *args: str) -> str:
    out = StringIO()
    call_command("register_dataset", str(manifest), *args, stdout=out)
    return out.getvalue()


NEW = ["--title", "Cohort", "--committee", "Genomics DAC", "--permission", "GRU"]


@pytest.fixture
def files(good: GoodFiles, place: PlaceFile) -> None:
    place(good.vcf_gz, "calls/cohort.vcf.gz")
    place(good.bam, "reads/NA12878.bam")


@pytest.fixture
def people(db: None) -> None:
    for n in (1, 2, 3):
        ParticipantFactory(study_id=f"S-{n}")


def test_manifest_registers_a_new_dataset_with_links(
    data_root: Path, steward: User, committee: Any, files: None, people: None
) -> None:
    _write(data_root / "map.tsv", ["sample_id\tstudy_id", "HG00001\tS-1", "HG00002\tS-2"])
    manifest = _write(
        data_root / "manifest.tsv",
        [
            "path\tformat\tmapping",
            "# reads first",
            "reads/NA12878.bam\tBAM\t",
            "calls/cohort.vcf.gz\t\tmap.tsv",
        ],
    )

    output = _run(manifest, "--steward", steward.email, *NEW, "--modifier", "IRB")

    dataset = Dataset.objects.get()
    assert f"{dataset.accession}: registered 2 file(s) and 2 index(es), 2 sample link(s)." in output
    assert "Validation is queued" in output
    assert dataset.modifiers == ["IRB"]
    assert DataFile.objects.filter(status=FileStatus.VALIDATING).count() == 4
    linked = dataset.samples.filter(link=LinkStatus.LINKED).order_by("sample_id")
    assert [(s.sample_id, s.participant.study_id) for s in linked] == [
        ("HG00001", "S-1"),
        ("HG00002", "S-2"),
    ]


def test_sync_validates_in_the_command(
    tmp_path: Path, steward: User, committee: Any, files: None
) -> None:
    manifest = _write(tmp_path / "manifest.tsv", ["path", "reads/NA12878.bam"])

    output = _run(manifest, "--steward", steward.email, *NEW, "--sync")

    assert "reads/NA12878.bam: valid" in output
    assert DataFile.objects.get(path="reads/NA12878.bam").status == FileStatus.VALID


def test_bad_manifest_reports_every_row_and_registers_nothing(
    data_root: Path, steward: User, committee: Any, files: None, people: None
) -> None:
    _write(data_root / "map.tsv", ["HG00001\tS-1", "HG00002\tS-999", "HG00003"])
    manifest = _write(
        data_root / "manifest.tsv",
        [
            "path\tformat\tmapping",
            "calls/cohort.vcf.gz\t\tmap.tsv",
            "reads/NA12878.bam",
            "reads/../../etc/passwd",
            "reads/NA12878.bam",
            "reads/absent.bam\tBAM\tnowhere.tsv",
        ],
    )

    with pytest.raises(CommandError) as caught:
        _run(manifest, "--steward", steward.email, *NEW)

    assert str(caught.value).splitlines() == [
        "Nothing was registered:",
        "  map.tsv line 3: expected 2 columns (sample ID, study ID), found 1.",
        f"  manifest.tsv line 6: mapping {data_root.resolve() / 'nowhere.tsv'}: no such file.",
        "  manifest.tsv line 4: reads/../../etc/passwd: '..' is not allowed in a path; give the "
        "path from the data root.",
        "  manifest.tsv line 5: reads/NA12878.bam is listed twice (also manifest.tsv line 3).",
        "  manifest.tsv line 6: reads/absent.bam: no such file under the data root.",
        "  map.tsv line 2: unknown study ID S-999: no participant is enrolled with it.",
    ]
    assert not Dataset.objects.exists()
    assert not DataFile.objects.exists()


def test_mapping_outside_the_data_root_is_refused_unread(
    tmp_path: Path, data_root: Path, steward: User, committee: Any, files: None, people: None
) -> None:
    _write(tmp_path / "outside.tsv", ["HG00001\tS-1"])
    (data_root / "escape.tsv").symlink_to(tmp_path / "outside.tsv")
    manifest = _write(
        data_root / "manifest.tsv",
        [
            "path\tmapping",
            "calls/cohort.vcf.gz\t../outside.tsv",
            "calls/cohort.vcf.gz\t/etc/passwd",
            "reads/NA12878.bam\tescape.tsv",
        ],
    )

    with pytest.raises(CommandError) as caught:
        _run(manifest, "--steward", steward.email, *NEW)

    assert str(caught.value).splitlines() == [
        "Nothing was registered:",
        "  manifest.tsv line 2: mapping ../outside.tsv: "
        f"{data_root / '..' / 'outside.tsv'}: '..' is not allowed in a path; give the path "
        "from the data root.",
        "  manifest.tsv line 3: mapping /etc/passwd: /etc/passwd: the path is outside the "
        "data root.",
        "  manifest.tsv line 4: mapping escape.tsv: escape.tsv: the path leads outside the data "
        "root through a symbolic link; copy the file into the data root instead.",
        "  manifest.tsv line 3: calls/cohort.vcf.gz is listed twice (also manifest.tsv line 2).",
    ]
    assert not Dataset.objects.exists()


def test_existing_draft_dataset_is_named_by_accession(
    tmp_path: Path, steward: User, committee: Any, files: None
) -> None:
    manifest = _write(tmp_path / "m.tsv", ["path", "reads/NA12878.bam"])
    _run(manifest, "--steward", steward.email, *NEW)
    dataset = Dataset.objects.get()
    second = _write(tmp_path / "second.tsv", ["path", "calls/cohort.vcf.gz"])

    _run(second, "--steward", steward.email, "--dataset", dataset.accession)

    assert dataset.files.count() == 4


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        (["file", "x.bam"], NEW, "m.tsv line 1: the first line must be a header naming"),
        ([], NEW, "m.tsv: the manifest is empty."),
        (["path", "reads/NA12878.bam"], [], "Give --dataset ACCESSION, or --title"),
        (["path", "reads/NA12878.bam"], ["--dataset", "CDS999999"], "No dataset has the acc"),
        (
            ["path", "reads/NA12878.bam"],
            [*NEW[:3], "Nobody's DAC", *NEW[4:]],
            "No committee is named",
        ),
        (
            ["path", "reads/NA12878.bam"],
            [*NEW[:5], "DS"],
            "DS (disease specific research) needs at least one disease.",
        ),
    ],
)
def test_command_errors(
    tmp_path: Path,
    steward: User,
    committee: Any,
    files: None,
    rows: list[str],
    args: list[str],
    message: str,
) -> None:
    manifest = _write(tmp_path / "m.tsv", rows) if rows else tmp_path / "m.tsv"
    if not rows:
        manifest.write_text("")

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _run(manifest, "--steward", steward.email, *args)

    assert not Dataset.objects.exists()


def test_steward_must_exist(tmp_path: Path, researcher: User) -> None:
    manifest = _write(tmp_path / "m.tsv", ["path", "x.bam"])
    with pytest.raises(CommandError, match="No data steward has the email"):
        _run(manifest, "--steward", researcher.email, *NEW)
