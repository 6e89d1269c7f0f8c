"""Validating a registered file: the states around the worker's task, and the service it runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from datasets import genomics
from datasets.models import (
    DataFile,
    FileStatus,
    Sample,
)
from datasets.paths import DataPathError, data_root, relative_message, resolve_data_path
from datasets.services.base import DatasetError, locked_draft, require_steward
from datasets.tasks import validate_datafile_task
from datasets.transitions import FILE_TRANSITIONS
from portal.models import User
from portal.transitions import transition


def _move_with_index(
    file: DataFile,
    to: FileStatus,
    *,
    actor: User | None,
    reason: str = "",
    extra: Mapping[str, Any] | None = None,
    index_extra: Mapping[str, Any] | None = None,
) -> None:
    """Move a data file and its index together: the index is checked with its data file."""
    transition(file, to, table=FILE_TRANSITIONS, actor=actor, reason=reason, extra=extra)
    index = DataFile.objects.filter(index_of=file).first()
    if index is not None and to in FILE_TRANSITIONS.get(FileStatus(index.status), frozenset()):
        transition(index, to, table=FILE_TRANSITIONS, actor=actor, reason=reason, extra=index_extra)


def datafile_validation_start(*, actor: User | None, file: DataFile, queue: bool = True) -> None:
    """PENDING -> VALIDATING (the file and its index), then queue the worker on commit."""
    if file.is_index:
        raise DatasetError(f"{file.path} is an index: it is validated with its data file.")
    reset = {"bytes_hashed": 0, "validation_message": "", "problems": []}
    with transaction.atomic():
        _move_with_index(file, FileStatus.VALIDATING, actor=actor, extra=reset, index_extra=reset)
        if queue:
            file_id = file.pk
            transaction.on_commit(lambda: validate_datafile_task.delay(file_id))


def datafile_validation_retry(*, actor: User, file: DataFile) -> None:
    """FAILED -> PENDING -> VALIDATING: validate again after the file was fixed."""
    require_steward(actor)
    with transaction.atomic(durable=True):
        locked_draft(file.dataset, "files can be validated again in")
        locked = DataFile.objects.select_for_update().get(pk=file.pk)
        if locked.status != FileStatus.FAILED:
            raise DatasetError(
                f"{locked.path} is {locked.get_status_display().lower()}: only a file that "
                "failed validation can be validated again.",
                code="not_failed",
                http_status=409,
            )
        _move_with_index(locked, FileStatus.PENDING, actor=actor, reason="retry")
        datafile_validation_start(actor=actor, file=locked)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    message: str
    problems: list[dict[str, str]]
    fields: dict[str, Any]
    index_fields: dict[str, Any]
    samples: tuple[str, ...] = ()


def _problem_dicts(problems: Iterable[genomics.Problem], root: Path) -> list[dict[str, str]]:
    return [
        {
            "severity": p.severity.value,
            "code": p.code,
            "message": relative_message(p.message, root=root),
        }
        for p in problems
    ]


def _failure(message: str, problems: list[dict[str, str]] | None = None) -> _Outcome:
    """A FAILED outcome; `problems` are the report's findings when it produced the message."""
    listed = problems or [{"severity": "fatal", "code": "invalid", "message": message}]
    failed = {"validation_message": message, "problems": listed}
    index_failed = {"validation_message": "Its data file failed validation.", "problems": []}
    return _Outcome(False, message, listed, failed, index_failed)


def _check_file(file: DataFile, index: DataFile | None) -> _Outcome:
    """Run every genomics check on the file (outside any transaction: it may take minutes),
    writing the checksum progress to the row as it goes."""
    root = data_root()
    try:
        found = resolve_data_path(file.path)
    except DataPathError as exc:
        return _failure(exc.message)
    try:
        before = found.absolute.stat()
    except FileNotFoundError:
        return _failure(
            f"{file.path}: the file has vanished since it was registered "
            "(no such file under the data root)."
        )
    except OSError as exc:
        return _failure(f"{file.path}: cannot be read ({exc.strerror}).")
    DataFile.objects.filter(pk=file.pk).update(size=before.st_size, bytes_hashed=0)

    def progress(done: int, total: int) -> None:
        # A queryset update, committed at once: the progress page polls these columns.
        DataFile.objects.filter(pk=file.pk).update(bytes_hashed=done, size=total)

    report = genomics.validate(found.absolute, on_progress=progress)
    problems = _problem_dicts(report.problems, root)
    if any(p.code == "missing" for p in report.fatal):
        return _failure(
            f"{file.path}: the file has vanished since it was registered (no such file)."
        )
    fatal = [p["message"] for p in problems if p["severity"] == "fatal"]
    if fatal:
        return _failure(" ".join(fatal), problems)
    try:
        after = found.absolute.stat()
    except FileNotFoundError:
        after = None
    if after is None or (after.st_mtime_ns, after.st_size) != (before.st_mtime_ns, before.st_size):
        return _failure(
            f"{file.path}: the file changed while it was being validated; validate it again "
            "once it is completely written."
        )
    index_fields: dict[str, Any] = {}
    if index is not None:
        index_fields, index_problem = _check_index_file(index, report)
        if index_problem:
            return _failure(index_problem)
    header, sums = report.header, report.checksums
    if header is None or sums is None:  # a report without fatal problems has both
        return _failure(f"{file.path}: the checks did not complete; validate it again.")
    fields = {
        "size": sums.size,
        "bytes_hashed": sums.size,
        "sha256": sums.sha256,
        "md5": sums.md5,
        "mtime_ns": before.st_mtime_ns,
        "reference_genome": header.reference_genome.value,
        "contigs": [{"name": c.name, "length": c.length} for c in header.contigs],
        "samples": list(header.samples),
        "record_count": header.record_count,
        "validation_message": " ".join(p["message"] for p in problems),
        "problems": problems,
        "validated_at": timezone.now(),
    }
    return _Outcome(True, "", problems, fields, index_fields, header.samples)


def _check_index_file(
    index: DataFile, report: genomics.ValidationReport
) -> tuple[dict[str, Any], str]:
    try:
        found = resolve_data_path(index.path)
    except DataPathError as exc:
        return {}, exc.message
    used = report.index.index_path if report.index is not None else None
    if used is None or used.resolve() != found.absolute:
        return {}, (
            f"{index.path}: the index registered with the file was not the one found beside "
            "it; remove the file and register it again."
        )
    try:
        before = found.absolute.stat()
        sums = genomics.compute_checksums(found.absolute)
    except (OSError, genomics.GenomicFileError) as exc:
        return {}, relative_message(str(exc))
    return {
        "size": sums.size,
        "bytes_hashed": sums.size,
        "sha256": sums.sha256,
        "md5": sums.md5,
        "mtime_ns": before.st_mtime_ns,
        "validation_message": "",
        "problems": [],
        "validated_at": timezone.now(),
    }, ""


def datafile_validate(*, file: DataFile) -> DataFile:
    """What the worker runs for one data file (the demo and the benchmark call it too).

    1. do nothing unless the file is still VALIDATING (a rerun is a no-op); 2. run every
    check, writing progress as the checksums are computed; 3. lock the row and, if it is
    still VALIDATING, record VALID with checksums, header facts and mtime, or FAILED with
    the messages; the index follows; 4. a valid file's header samples join the dataset's.
    """
    current = DataFile.objects.filter(pk=file.pk).first()
    if current is None or current.status != FileStatus.VALIDATING:
        return current or file
    index = DataFile.objects.filter(index_of=current).first()
    outcome = _check_file(current, index)
    with transaction.atomic(durable=True):
        locked = DataFile.objects.select_for_update().filter(pk=current.pk).first()
        if locked is None or locked.status != FileStatus.VALIDATING:
            return locked or current
        to = FileStatus.VALID if outcome.ok else FileStatus.FAILED
        transition(
            locked,
            to,
            table=FILE_TRANSITIONS,
            actor=None,
            extra=outcome.fields,
        )
        if index is not None:
            index.refresh_from_db()
            if index.status == FileStatus.VALIDATING:
                transition(
                    index, to, table=FILE_TRANSITIONS, actor=None, extra=outcome.index_fields
                )
        if outcome.ok:
            _add_samples(locked.dataset_id, outcome.samples)
    return locked


def _add_samples(dataset_id: int, sample_ids: Sequence[str]) -> None:
    known = set(
        Sample.objects.filter(dataset_id=dataset_id, sample_id__in=sample_ids).values_list(
            "sample_id", flat=True
        )
    )
    Sample.objects.bulk_create(
        [Sample(dataset_id=dataset_id, sample_id=s) for s in sample_ids if s not in known],
        batch_size=1000,
    )


def datafile_validation_interrupted(*, file: DataFile, message: str) -> None:
    """The worker gave up (time limit): FAILED with the reason, so the steward can retry."""
    with transaction.atomic(durable=True):
        locked = DataFile.objects.select_for_update().filter(pk=file.pk).first()
        if locked is None or locked.status != FileStatus.VALIDATING:
            return
        failed = _failure(f"{locked.path}: {message}")
        _move_with_index(
            locked,
            FileStatus.FAILED,
            actor=None,
            extra=failed.fields,
            index_extra=failed.index_fields,
        )
