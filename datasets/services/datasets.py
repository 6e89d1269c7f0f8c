"""Creating, releasing and retiring datasets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from datasets.conditions import conditions_check, conditions_fields
from datasets.models import (
    Committee,
    CommitteeKind,
    Dataset,
    DatasetStatus,
    FileStatus,
    LinkStatus,
    accession_for,
)
from datasets.selectors import FileChangedError, datafile_check_unchanged, dataset_files
from datasets.services.base import (
    DatasetActions,
    DatasetError,
    ReleaseError,
    locked_draft,
    require_steward,
)
from datasets.services.variants import variant_indexes_start
from datasets.transitions import DATASET_TRANSITIONS
from portal.audit import audit_log
from portal.models import User
from portal.transitions import transition


def dataset_create(
    *,
    actor: User,
    title: str,
    description: str = "",
    committee: Committee,
    permission: str,
    modifiers: Iterable[str] = (),
    diseases: Iterable[str] = (),
    countries: Iterable[str] = (),
    time_limit: dt.date | None = None,
    moratorium_until: dt.date | None = None,
    users: Iterable[str] = (),
    projects: Iterable[str] = (),
    institutions: Iterable[str] = (),
) -> Dataset:
    """1. check the title and the DUO conditions; 2. create the draft; 3. give it the
    accession made from its primary key, in the same transaction."""
    require_steward(actor)
    title = " ".join((title or "").split())
    if not title:
        raise DatasetError("A title is required.", code="invalid")
    if committee is None:
        raise DatasetError("Choose the data access committee that governs the dataset.")
    if committee.kind != CommitteeKind.DAC:
        # A community committee approves uses of its members' samples; it governs no dataset.
        raise DatasetError(
            f"{committee.name} is a community committee: choose the data access committee "
            "that governs the dataset.",
            code="invalid",
        )
    conditions = conditions_check(
        permission=permission,
        modifiers=modifiers,
        diseases=diseases,
        countries=countries,
        time_limit=time_limit,
        moratorium_until=moratorium_until,
        users=users,
        projects=projects,
        institutions=institutions,
    )
    with transaction.atomic():
        dataset = Dataset.objects.create(
            title=title,
            description=(description or "").strip(),
            committee=committee,
            created_by=actor,
            **conditions_fields(conditions),
        )
        # The primary key is unique and never handed out again, so neither is the accession,
        # however many stewards create datasets at once.
        dataset.accession = accession_for(dataset.pk)
        Dataset.objects.filter(pk=dataset.pk).update(accession=dataset.accession)
        audit_log(
            actor=actor,
            action=DatasetActions.CREATE,
            target=dataset,
            after={
                "accession": dataset.accession,
                "title": title,
                "committee_id": committee.pk,
                "conditions": list(conditions.codes),
            },
        )
    return dataset


def dataset_release(*, actor: User, dataset: Dataset) -> Dataset:
    """1. lock the draft; 2. check every file is valid and unchanged and every sample is
    linked or deliberately unlinked, reporting every problem at once; 3. release it; 4. start
    the beacon's variant index of its VCF.gz/BCF files (built by a worker after commit)."""
    require_steward(actor)
    with transaction.atomic(durable=True):
        locked = locked_draft(dataset, "you can release")
        problems: list[str] = []
        files = dataset_files(locked)
        if not any(not f.is_index for f in files):
            problems.append(f"{locked.accession} has no data files; add files before releasing.")
        for file in files:
            if file.status == FileStatus.FAILED:
                reason = file.validation_message.removeprefix(f"{file.path}: ")
                problems.append(f"{file.path} failed validation: {reason}")
            elif file.status != FileStatus.VALID:
                problems.append(f"{file.path}: not validated yet ({file.get_status_display()}).")
            else:
                try:
                    datafile_check_unchanged(file)
                except FileChangedError as exc:
                    problems.append(exc.message)
        unresolved = list(
            locked.samples.filter(link=LinkStatus.UNRESOLVED).values_list("sample_id", flat=True)
        )
        if unresolved:
            more = f" and {len(unresolved) - 10} more" if len(unresolved) > 10 else ""
            problems.append(
                f"{len(unresolved)} sample(s) are neither linked to a participant nor marked "
                f"unlinked: {', '.join(unresolved[:10])}{more}."
            )
        try:
            locked.conditions  # noqa: B018 - raises if the stored conditions are inconsistent
        except ValueError as exc:
            problems.append(f"The data-use conditions are not valid: {exc}")
        if problems:
            raise ReleaseError(problems)
        transition(
            locked,
            DatasetStatus.RELEASED,
            table=DATASET_TRANSITIONS,
            actor=actor,
            extra={"released_at": timezone.now()},
        )
        variant_indexes_start(actor=actor, dataset=locked)
    return locked


def dataset_retire(*, actor: User, dataset: Dataset, reason: str = "") -> Dataset:
    require_steward(actor)
    with transaction.atomic(durable=True):
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        transition(
            locked,
            DatasetStatus.RETIRED,
            table=DATASET_TRANSITIONS,
            actor=actor,
            reason=reason,
            extra={"retired_at": timezone.now()},
        )
    return locked
