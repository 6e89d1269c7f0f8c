"""Registering files under the data root, with their indexes and sample mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import Participant
from datasets import genomics
from datasets.models import (
    INDEX_FORMATS,
    DataFile,
    DataFileFormat,
    Dataset,
    LinkStatus,
    Sample,
)
from datasets.paths import (
    DataPathError,
    filesystem_refusal,
    relative_message,
    resolve_data_path,
)
from datasets.services.base import (
    DatasetActions,
    DatasetError,
    RegistrationError,
    locked_draft,
    require_steward,
)
from datasets.services.validation import datafile_validation_start
from portal.audit import audit_log
from portal.models import User


@dataclass(frozen=True)
class FileEntry:
    """One file to register: its path from the data root, and optionally its format.

    `where` prefixes every message about the entry ("manifest.tsv line 3").
    """

    path: str
    format: str = ""
    where: str = ""


@dataclass(frozen=True)
class SampleLinkEntry:
    """ "Sample `sample_id` of the file at `file_path` belongs to participant `study_id`"."""

    sample_id: str
    study_id: str
    file_path: str
    where: str = ""


_REGISTRABLE = {f.value: f for f in DataFileFormat}
_FORMAT_NAMES = ", ".join(f.label for f in DataFileFormat)


def _say(where: str, message: str) -> str:
    return f"{where}: {message}" if where else message


def _declared_format(text: str) -> DataFileFormat | None:
    key = text.strip().lower().lstrip(".")
    if not key:
        return None
    if key in ("vcf.bgz", "vcfgz"):
        key = "vcf.gz"
    if key not in _REGISTRABLE:
        raise ValueError(f"the format {text.strip()!r} is not one of {_FORMAT_NAMES}")
    return _REGISTRABLE[key]


def _file_format(entry: FileEntry, relative: str, absolute: Path) -> DataFileFormat:
    """The format to record: the content's when recognised, else the declared one, else the
    name's (a damaged file is registered, and validation then says what is wrong)."""
    declared = _declared_format(entry.format)
    detected = genomics.detect_format(absolute)
    if detected is genomics.FileFormat.VCF:
        raise ValueError(
            "an uncompressed VCF cannot be registered: compress it with bgzip and index it "
            "with bcftools index --tbi"
        )
    if detected is not genomics.FileFormat.UNKNOWN:
        found = _REGISTRABLE[detected.value]
        if declared is not None and declared != found:
            raise ValueError(f"declared as {declared.label} but the content is {found.label}")
        return found
    if declared is not None:
        return declared
    by_name = genomics.format_from_name(absolute)
    if by_name is not None and by_name.value in _REGISTRABLE:
        return _REGISTRABLE[by_name.value]
    raise ValueError(
        f"not a recognised genomic file (the content is none of {_FORMAT_NAMES}, and "
        "the name does not say which it should be)"
    )


@dataclass
class _Planned:
    relative: str
    absolute: Path
    format: DataFileFormat
    where: str
    index_of: str | None = None
    samples: tuple[str, ...] = ()


def _plan_file(entry: FileEntry, problems: list[str]) -> _Planned | None:
    try:
        found = resolve_data_path(entry.path)
    except DataPathError as exc:
        problems.append(_say(entry.where, exc.message))
        return None
    try:
        if not found.absolute.exists():
            problems.append(
                _say(entry.where, f"{found.relative}: no such file under the data root.")
            )
            return None
        if not found.absolute.is_file():
            problems.append(_say(entry.where, f"{found.relative}: is a folder, not a file."))
            return None
        fmt = _file_format(entry, found.relative, found.absolute)
    except (ValueError, genomics.GenomicFileError) as exc:
        problems.append(_say(entry.where, f"{found.relative}: {relative_message(str(exc))}"))
        return None
    except (OSError, RuntimeError) as exc:
        problems.append(_say(entry.where, filesystem_refusal(found.relative, exc).message))
        return None
    return _Planned(found.relative, found.absolute, fmt, entry.where)


def _plan_index(data: _Planned, problems: list[str]) -> _Planned | None:
    """The conventionally named index beside a data file, if there is one."""
    try:
        index_path = genomics.find_index(data.absolute)
    except (genomics.GenomicFileError, OSError, RuntimeError):
        return None
    if index_path is None:
        return None
    folder = data.relative.rpartition("/")[0]
    relative = f"{folder}/{index_path.name}" if folder else index_path.name
    try:
        found = resolve_data_path(relative)
    except DataPathError as exc:
        problems.append(_say(data.where, f"the index of {data.relative}: {exc.message}"))
        return None
    try:
        detected = genomics.detect_format(found.absolute)
    except (OSError, RuntimeError) as exc:
        problems.append(
            _say(
                data.where,
                f"the index of {data.relative}: " + filesystem_refusal(found.relative, exc).message,
            )
        )
        return None
    fmt = _REGISTRABLE.get(detected.value)
    if fmt is None or fmt not in INDEX_FORMATS:
        # Registered as named: validation of the data file reports what the index really is.
        fmt = _REGISTRABLE.get(relative.rsplit(".", 1)[-1].lower(), DataFileFormat.BAI)
    return _Planned(found.relative, found.absolute, fmt, data.where, index_of=data.relative)


def _plan_entries(
    dataset: Dataset, entries: Sequence[FileEntry], problems: list[str]
) -> list[_Planned]:
    existing = set(dataset.files.values_list("path", flat=True))
    seen: dict[str, str] = {}
    data: list[_Planned] = []
    explicit_indexes: list[_Planned] = []
    for entry in entries:
        planned = _plan_file(entry, problems)
        if planned is None:
            continue
        if planned.relative in seen:
            first = seen[planned.relative]
            also = f" (also {first})" if first else ""
            problems.append(_say(entry.where, f"{planned.relative} is listed twice{also}."))
            continue
        seen[planned.relative] = entry.where
        if planned.relative in existing:
            problems.append(
                _say(
                    entry.where,
                    f"{planned.relative} is already registered in {dataset.accession}.",
                )
            )
            continue
        (explicit_indexes if planned.format in INDEX_FORMATS else data).append(planned)
    indexes = []
    for item in data:
        index = _plan_index(item, problems)
        if index is None:
            continue
        if index.relative in existing:
            problems.append(
                _say(
                    item.where,
                    f"the index {index.relative} of {item.relative} is already registered in "
                    f"{dataset.accession}.",
                )
            )
            continue
        indexes.append(index)
    linked = {index.relative for index in indexes}
    for index in explicit_indexes:
        if index.relative not in linked:
            problems.append(
                _say(
                    index.where,
                    f"{index.relative} is an index: register the data file it indexes, and the "
                    "index beside it is registered and linked with it.",
                )
            )
    return data + indexes


def _plan_sample_links(
    dataset: Dataset,
    entries: Sequence[FileEntry],
    data: Sequence[_Planned],
    links: Sequence[SampleLinkEntry],
    problems: list[str],
) -> dict[str, Participant]:
    """Check the sample -> participant mapping against the files' headers and the enrolled
    participants; the header samples are kept on the plan."""
    by_path = {item.relative: item for item in data}
    given = set()
    for entry in entries:
        try:
            given.add(resolve_data_path(entry.path).relative)
        except DataPathError:
            continue
    entry_paths = {entry.path.strip() for entry in entries}
    for link in links:
        try:
            relative = resolve_data_path(link.file_path).relative
        except DataPathError as exc:
            # The same path among the files is reported there; any other is refused here:
            # a mapping row is never dropped while the rest is registered.
            if link.file_path.strip() not in entry_paths:
                problems.append(_say(link.where, exc.message))
            continue
        item = by_path.get(relative)
        if item is None or item.samples:
            continue
        try:
            item.samples = genomics.read_header(item.absolute).samples
        except genomics.GenomicFileError as exc:
            problems.append(
                _say(
                    link.where,
                    f"the samples of {relative} cannot be checked: {relative_message(exc.message)}",
                )
            )
            item.samples = ("\x00unreadable",)
    study_ids = {link.study_id.strip() for link in links}
    participants = {p.study_id: p for p in Participant.objects.filter(study_id__in=study_ids)}
    already = dict(
        dataset.samples.filter(link=LinkStatus.LINKED).values_list(
            "sample_id", "participant__study_id"
        )
    )
    chosen: dict[str, Participant] = {}
    first_where: dict[str, str] = {}
    for link in links:
        sample_id, study_id = link.sample_id.strip(), link.study_id.strip()
        try:
            relative = resolve_data_path(link.file_path).relative
        except DataPathError:
            continue
        item = by_path.get(relative)
        if item is None and relative not in given:
            problems.append(_say(link.where, f"{relative} is not among the files to register."))
            continue
        if not sample_id or not study_id:
            problems.append(_say(link.where, "both a sample ID and a study ID are required."))
            continue
        if (
            item is not None
            and item.samples != ("\x00unreadable",)
            and sample_id not in item.samples
        ):
            problems.append(_say(link.where, f"sample {sample_id} is not in {relative}."))
            continue
        participant = participants.get(study_id)
        if participant is None:
            problems.append(
                _say(
                    link.where, f"unknown study ID {study_id}: no participant is enrolled with it."
                )
            )
            continue
        earlier = chosen.get(sample_id)
        if earlier is not None and earlier.pk != participant.pk:
            problems.append(
                _say(
                    link.where,
                    f"sample {sample_id} is linked to {earlier.study_id} by "
                    f"{first_where[sample_id] or 'an earlier row'} and to {study_id} here.",
                )
            )
            continue
        if already.get(sample_id, study_id) != study_id:
            problems.append(
                _say(
                    link.where,
                    f"sample {sample_id} is already linked to {already[sample_id]} in "
                    f"{dataset.accession}.",
                )
            )
            continue
        chosen[sample_id] = participant
        first_where.setdefault(sample_id, link.where)
    return chosen


def datafiles_register(
    *,
    actor: User,
    dataset: Dataset,
    entries: Sequence[FileEntry],
    sample_links: Sequence[SampleLinkEntry] = (),
    start_validation: bool = True,
) -> list[DataFile]:
    """Register files of a draft dataset, all or nothing.

    1. lock the draft; 2. resolve every path inside the data root, refuse duplicates, find
    each data file's index; 3. check the sample mapping (samples in the files' headers,
    study IDs enrolled); 4. any problem: raise them all, nothing written; 5. create the
    files (indexes linked to their data files) and the linked samples; 6. start validation
    (the worker is queued once the transaction commits).
    """
    require_steward(actor)
    if not entries:
        raise RegistrationError(["Choose at least one file to register."])
    with transaction.atomic():
        locked = locked_draft(dataset, "files can be added to")
        problems: list[str] = []
        planned = _plan_entries(locked, entries, problems)
        data = [p for p in planned if p.index_of is None]
        chosen = _plan_sample_links(locked, entries, data, sample_links, problems)
        if problems:
            raise RegistrationError(problems)
        try:
            created = _create_files(actor, locked, planned)
        except IntegrityError as exc:
            # Another steward registered one of these paths between our check and insert.
            raise RegistrationError(
                [f"One of the files was registered in {locked.accession} meanwhile; reload."]
            ) from exc
        _link_new_samples(actor, locked, chosen)
        audit_log(
            actor=actor,
            action=DatasetActions.FILES_REGISTER,
            target=locked,
            after={
                "files": [f.path for f in created],
                "linked_samples": len(chosen),
            },
        )
        if start_validation:
            for file in created:
                if not file.is_index:
                    datafile_validation_start(actor=actor, file=file)
    return created


def _create_files(actor: User, dataset: Dataset, planned: Sequence[_Planned]) -> list[DataFile]:
    created: dict[str, DataFile] = {}
    for item in sorted(planned, key=lambda p: p.index_of is not None):
        created[item.relative] = DataFile.objects.create(
            dataset=dataset,
            path=item.relative,
            format=item.format,
            index_of=created[item.index_of] if item.index_of else None,
            size=item.absolute.stat().st_size,
            samples=[s for s in item.samples if not s.startswith("\x00")],
            registered_by=actor,
        )
    return list(created.values())


def _link_new_samples(actor: User, dataset: Dataset, chosen: Mapping[str, Participant]) -> None:
    if not chosen:
        return
    now = timezone.now()
    existing = {s.sample_id: s for s in dataset.samples.filter(sample_id__in=chosen)}
    for sample_id, participant in chosen.items():
        sample = existing.get(sample_id)
        if sample is None:
            Sample.objects.create(
                dataset=dataset,
                sample_id=sample_id,
                participant=participant,
                link=LinkStatus.LINKED,
                linked_at=now,
                linked_by=actor,
            )
        elif sample.link != LinkStatus.LINKED:
            Sample.objects.filter(pk=sample.pk).update(
                participant=participant, link=LinkStatus.LINKED, linked_at=now, linked_by=actor
            )


def datafile_remove(*, actor: User, file: DataFile) -> None:
    """Take a file (and its index) out of a draft dataset; samples found only in it go too."""
    require_steward(actor)
    if file.is_index:
        raise DatasetError(
            f"{file.path} is an index: remove its data file, and the index goes with it."
        )
    with transaction.atomic(durable=True):
        dataset = locked_draft(file.dataset, "files can be removed from")
        DataFile.objects.filter(pk=file.pk).delete()
        _prune_samples(dataset)
        audit_log(
            actor=actor, action=DatasetActions.FILE_REMOVE, target=file, before={"path": file.path}
        )


def _prune_samples(dataset: Dataset) -> None:
    remaining: set[str] = set()
    for samples in dataset.files.values_list("samples", flat=True):
        remaining.update(samples)
    dataset.samples.exclude(sample_id__in=remaining).delete()
