"""Linking a dataset's samples to participants, or marking them unlinked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from consent.models import Participant
from datasets.models import (
    Dataset,
    LinkStatus,
    Sample,
)
from datasets.services.base import DatasetActions, SampleLinkError, locked_draft, require_steward
from portal.audit import audit_log
from portal.models import User


@dataclass(frozen=True)
class SampleChoice:
    """For one sample: link it to the participant with `study_id`, or mark it `unlinked`
    (never delivered); neither leaves it to decide later."""

    sample_id: str
    study_id: str = ""
    unlinked: bool = False


def samples_link(*, actor: User, dataset: Dataset, choices: Sequence[SampleChoice]) -> int:
    """Link samples to participants or mark them unlinked, all or nothing; returns how many
    samples changed."""
    require_steward(actor)
    with transaction.atomic(durable=True):
        locked = locked_draft(dataset, "samples can be linked in")
        samples = {s.sample_id: s for s in locked.samples.select_related("participant")}
        wanted = {c.study_id.strip() for c in choices if c.study_id.strip()}
        participants = {p.study_id: p for p in Participant.objects.filter(study_id__in=wanted)}
        problems: list[str] = []
        updates: list[tuple[Sample, Participant | None, LinkStatus]] = []
        for choice in choices:
            sample = samples.get(choice.sample_id)
            study_id = choice.study_id.strip()
            if sample is None:
                problems.append(f"Sample {choice.sample_id} is not in {locked.accession}.")
                continue
            if study_id and choice.unlinked:
                problems.append(
                    f"Sample {sample.sample_id}: choose a participant or 'unlinked', not both."
                )
                continue
            if study_id and study_id not in participants:
                problems.append(
                    f"Sample {sample.sample_id}: unknown study ID {study_id} "
                    "(no participant is enrolled with it)."
                )
                continue
            target: tuple[Participant | None, LinkStatus]
            if study_id:
                target = (participants[study_id], LinkStatus.LINKED)
            elif choice.unlinked:
                target = (None, LinkStatus.UNLINKED)
            else:
                target = (None, LinkStatus.UNRESOLVED)
            if (sample.participant, sample.link) != target:
                updates.append((sample, *target))
        if problems:
            raise SampleLinkError(problems)
        now = timezone.now()
        for sample, participant, link in updates:
            Sample.objects.filter(pk=sample.pk).update(
                participant=participant,
                link=link,
                linked_at=now if link != LinkStatus.UNRESOLVED else None,
                linked_by=actor if link != LinkStatus.UNRESOLVED else None,
            )
        if updates:
            audit_log(
                actor=actor,
                action=DatasetActions.SAMPLES_LINK,
                target=locked,
                after={
                    "changes": {
                        s.sample_id: (p.study_id if p else str(link)) for s, p, link in updates
                    }
                },
            )
    return len(updates)
