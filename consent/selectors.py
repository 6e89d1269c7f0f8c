from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from consent.ledger import record_hash
from consent.models import ConsentRecord, ConsentStatus, CurrentConsent, Participant
from portal.audit import GENESIS_HASH
from portal.models import User


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
