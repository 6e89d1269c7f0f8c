from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from consent.ledger import record_hash
from consent.models import (
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    VersionStatus,
)
from portal.audit import GENESIS_HASH
from portal.models import Role, User


def participant_for_user(user: User) -> Participant | None:
    return Participant.objects.filter(user=user).first()


def participant_list() -> QuerySet[Participant]:
    return Participant.objects.select_related("user").order_by("study_id")


def participant_count() -> int:
    return Participant.objects.count()


@dataclass(frozen=True)
class ConsentLedgerReport:
    records_checked: int
    participants_checked: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def consent_ledger_verify(*, max_problems: int = 20) -> ConsentLedgerReport:
    """Recompute every participant's chain and check the projection equals the last record."""
    problems: list[str] = []
    last: dict[int, ConsentRecord] = {}
    previous: ConsentRecord | None = None
    checked = 0
    records = ConsentRecord.objects.select_related("participant").order_by(
        "participant_id", "sequence"
    )
    for record in records.iterator(chunk_size=5000):
        same = previous is not None and previous.participant_id == record.participant_id
        expected_sequence = previous.sequence + 1 if same and previous else 1
        expected_previous = previous.record_hash if same and previous else GENESIS_HASH
        name = f"{record.participant.study_id} record #{record.sequence}"
        if record.sequence != expected_sequence:
            problems.append(f"{name}: expected record #{expected_sequence} (one is missing)")
        elif record.previous_hash != expected_previous:
            problems.append(f"{name}: does not follow the record before it")
        elif record_hash(record) != record.record_hash:
            problems.append(f"{name}: does not match its hash: its content was edited")
        last[record.participant_id] = record
        previous = record
        checked += 1
        if len(problems) >= max_problems:
            break
    for current in CurrentConsent.objects.select_related("participant").iterator(chunk_size=5000):
        record = last.get(current.participant_id)
        name = current.participant.study_id
        if record is None or current.record_id != record.pk or current.answers != record.answers:
            problems.append(f"{name}: the current consent does not match the last record")
        elif current.status != _status_after(record):
            problems.append(
                f"{name}: the current status {current.status} does not match the last record"
            )
    return ConsentLedgerReport(checked, len(last), tuple(problems[:max_problems]))


def _status_after(record: ConsentRecord) -> str:
    return record.withdrawal_level or ConsentStatus.ACTIVE


def current_consent(participant: Participant) -> CurrentConsent | None:
    return (
        CurrentConsent.objects.select_related("version", "version__document")
        .filter(participant=participant)
        .first()
    )


def published_version(version_id: int) -> ConsentVersion | None:
    return (
        ConsentVersion.objects.select_related("document")
        .filter(pk=version_id, status=VersionStatus.PUBLISHED)
        .first()
    )


def choice_meanings(version: ConsentVersion) -> dict[str, str]:
    return dict(version.choices.values_list("key", "meaning"))


def records_of(participant: Participant) -> QuerySet[ConsentRecord]:
    return (
        ConsentRecord.objects.filter(participant=participant)
        .select_related("version", "actor", "proxy")
        .order_by("-sequence")
    )


def record_for(user: User, record_id: int) -> ConsentRecord | None:
    """A record the user may see: their own as a participant, any as a steward."""
    records = ConsentRecord.objects.select_related("participant", "version__document", "proxy")
    if user.role == Role.STEWARD:
        return records.filter(pk=record_id).first()
    if user.role == Role.PARTICIPANT:
        return records.filter(pk=record_id, participant__user=user).first()
    return None


# Stewards filter participants by these; "none" = enrolled but never consented.
STATUS_FILTERS = {
    "none": Q(current_consent__isnull=True),
    "suspended": Q(current_consent__suspended=True),
    **{status: Q(current_consent__status=status) for status in ConsentStatus.values},
}
_PERMITS = {"GRU": "permits_gru", "HMB": "permits_hmb", "POA": "permits_poa"}


def participants_with_consent(
    *,
    status: str | None = None,
    permits: str | None = None,
    version: int | None = None,
    study_id: str | None = None,
) -> QuerySet[Participant]:
    participants = Participant.objects.select_related("user", "current_consent").order_by(
        "study_id"
    )
    if status:
        participants = participants.filter(STATUS_FILTERS[status])
    if permits:
        participants = participants.filter(**{f"current_consent__{_PERMITS[permits]}": True})
    if version:
        participants = participants.filter(current_consent__version_id=version)
    if study_id:
        participants = participants.filter(study_id__icontains=study_id)
    return participants
