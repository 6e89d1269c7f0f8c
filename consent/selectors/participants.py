"""Reads about participants: their consent, history, records, proxies and questions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.duo import ResearchPurpose
from consent.ledger import record_hash
from consent.meanings import PERMISSION_COLUMNS, cohort_q
from consent.models import (
    Answer,
    ConsentChoice,
    ConsentQuestion,
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    ParticipantProxy,
    QuestionStatus,
    RecordKind,
    VersionStatus,
)
from consent.transitions import withdrawal_levels_open
from portal.audit import GENESIS_HASH
from portal.db import PreparedQuery
from portal.models import Role, User

# Every participant API request reads these two (portal.db.PreparedQuery says why prepared).
_PARTICIPANT_OF_USER = PreparedQuery(lambda: Participant.objects.filter(user_id=0))
_PUBLISHED_VERSION = PreparedQuery(
    lambda: (
        ConsentVersion.objects.select_related("document")
        .filter(pk=0)
        .filter(status=VersionStatus.PUBLISHED)
    )
)
# An id no table can hold finds nothing (PostgreSQL would refuse it as out of range).
_MAX_ID = 2**63 - 1


def participant_for_user(user: User) -> Participant | None:
    participant: Participant | None = _PARTICIPANT_OF_USER.first(user.pk)
    if participant is not None:
        participant.user = user  # the account in hand, not a second read of it
    return participant


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
        kept = last.get(current.participant_id)
        name = current.participant.study_id
        if (
            kept is None
            or current.record_id != kept.pk
            or current.sequence != kept.sequence
            or current.answers != kept.answers
        ):
            problems.append(f"{name}: the current consent does not match the last record")
        elif current.status != _status_after(kept):
            problems.append(
                f"{name}: the current status {current.status} does not match the last record"
            )
    return ConsentLedgerReport(checked, len(last), tuple(problems[:max_problems]))


def _status_after(record: ConsentRecord) -> str:
    return record.withdrawal_level or ConsentStatus.ACTIVE


def current_consent(participant: Participant) -> CurrentConsent | None:
    current = (
        CurrentConsent.objects.select_related("version", "version__document")
        .filter(participant=participant)
        .first()
    )
    if current is not None:
        current.participant = participant  # the participant in hand, not a second read
    return current


def consent_state_after(record: ConsentRecord) -> CurrentConsent:
    """The current consent that `record`, just appended, left (unsaved: the projection the
    service wrote in the same transaction), for answering a write without reading it back."""
    return CurrentConsent(
        participant=record.participant,
        record=record,
        sequence=record.sequence,
        version=record.version,
        status=_status_after(record),
        suspended=False,
        answers=record.answers,
        updated_at=record.created_at,
    )


def published_version(version_id: int) -> ConsentVersion | None:
    if not 0 < version_id <= _MAX_ID:
        return None
    version: ConsentVersion | None = _PUBLISHED_VERSION.first(
        version_id, VersionStatus.PUBLISHED.value
    )
    return version


def choice_meanings(version: ConsentVersion) -> dict[str, str]:
    return dict(version.choices.values_list("key", "meaning"))


def carried_over_answers(current: CurrentConsent | None, version: ConsentVersion) -> dict[str, str]:
    """The participant's own answers in force that still answer a question of `version`:
    same key, same meaning, an answer still allowed. Nothing else is ever preselected."""
    if current is None:
        return {}
    before = choice_meanings(current.version)
    return {
        choice.key: current.answers[choice.key]
        for choice in version.choices.all()
        if before.get(choice.key) == choice.meaning
        and current.answers.get(choice.key) in choice.allowed_answers
    }


def records_of(participant: Participant) -> QuerySet[ConsentRecord]:
    return (
        ConsentRecord.objects.filter(participant=participant)
        .select_related("version", "actor", "proxy")
        .order_by("-sequence")
    )


def record_for(user: User, record_id: int) -> ConsentRecord | None:
    """A record the user may see: their own as a participant, any as a steward."""
    records = ConsentRecord.objects.select_related("participant", "version__document", "proxy")
    if user.has_role(Role.STEWARD):
        return records.filter(pk=record_id).first()
    if user.has_role(Role.PARTICIPANT):
        return records.filter(pk=record_id, participant__user=user).first()
    return None


# Stewards filter participants by these; "none" = enrolled but never consented.
STATUS_FILTERS = {
    "none": Q(current_consent__isnull=True),
    "suspended": Q(current_consent__suspended=True),
    **{status: Q(current_consent__status=status) for status in ConsentStatus.values},
}


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
        participants = participants.filter(
            **{f"current_consent__{PERMISSION_COLUMNS[permits]}": True}
        )
    if version:
        participants = participants.filter(current_consent__version_id=version)
    if study_id:
        participants = participants.filter(study_id__icontains=study_id)
    return participants


# --- the participant's own pages --------------------------------------------------------------


def answer_label(answer: str) -> str:
    return str(Answer(answer).label) if answer in Answer.values else answer


def consent_version_to_sign(
    participant: Participant, current: CurrentConsent | None = None
) -> ConsentVersion | None:
    """The published version this participant should read: their document (the one they
    consented to, else the oldest with a version in force), in their language, else English."""
    versions = ConsentVersion.objects.select_related("document").filter(
        status=VersionStatus.PUBLISHED, language__in={participant.language, "en"}
    )
    if current is not None:
        versions = versions.filter(document_id=current.version.document_id)
    ranked = sorted(
        versions,
        key=lambda v: (v.document.created_at, v.document_id, v.language != participant.language),
    )
    return ranked[0] if ranked else None


def consent_version_detail(version_id: int) -> ConsentVersion:
    """A version with its sections, questions and choices loaded (three queries)."""
    return (
        ConsentVersion.objects.select_related("document")
        .prefetch_related("sections", "questions", "choices")
        .get(pk=version_id)
    )


def participant_records(participant: Participant) -> QuerySet[ConsentRecord]:
    """The only way the participant's pages load a record: another participant's is a 404."""
    return ConsentRecord.objects.filter(participant=participant).select_related(
        "participant__user", "version__document", "actor", "proxy"
    )


@dataclass(frozen=True)
class AnswerChange:
    question: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    record: ConsentRecord
    summary: str
    changes: tuple[AnswerChange, ...]
    by: str


@dataclass(frozen=True)
class ChoiceNow:
    key: str
    question: str
    explanation: str
    answer: str
    since: dt.datetime


@dataclass(frozen=True)
class GuardianChoices:
    """The choices in force that a guardian made for a young person who has since come of
    age and not yet made them their own."""

    record: ConsentRecord
    guardian: str
    answers: dict[str, str]
    # The consent's sequence now: the handover form's concurrency token.
    sequence: int


# Records in which the participant answered every question themselves; a single-choice
# change leaves the guardian's other answers untouched.
_OWN_WHOLE_FORM = frozenset({RecordKind.CONSENT, RecordKind.RECONSENT, RecordKind.CONFIRM})


def _guardian_choices(
    participant: Participant, current: CurrentConsent | None, records: list[ConsentRecord]
) -> GuardianChoices | None:
    if participant.date_of_birth is None or not participant.of_age:
        return None
    if current is None or current.status != ConsentStatus.ACTIVE:
        return None
    by_guardian = [r for r in records if r.proxy_id is not None]
    if not by_guardian:
        return None
    last = max(by_guardian, key=lambda r: r.sequence)
    if any(
        r.sequence > last.sequence
        and r.proxy_id is None
        and r.actor_id == participant.user_id
        and r.kind in _OWN_WHOLE_FORM
        for r in records
    ):
        return None
    assert last.proxy is not None  # noqa: S101 - filtered on proxy_id above
    return GuardianChoices(last, last.proxy.full_name, dict(current.answers), current.sequence)


def guardian_choices(participant: Participant) -> GuardianChoices | None:
    """What the young person is asked to confirm or change at the handover, if anything:
    they came of age, their consent is active and its answers were last given as a whole
    by a guardian."""
    return _guardian_choices(
        participant, current_consent(participant), list(participant_records(participant))
    )


@dataclass(frozen=True)
class ConsentOverview:
    current: CurrentConsent | None
    version_to_sign: ConsentVersion | None
    choices: tuple[ChoiceNow, ...]
    history: tuple[HistoryEntry, ...]
    guardian_choices: GuardianChoices | None = None

    @property
    def handover_due(self) -> bool:
        """The young person is asked to act on each choice their guardian made (on the
        handover page; a newer version to sign is asked through the whole form instead)."""
        return (
            self.guardian_choices is not None
            and self.version_to_sign is not None
            and not self.reconsent_due
        )

    @property
    def active(self) -> bool:
        return self.current is not None and self.current.status == ConsentStatus.ACTIVE

    @property
    def newer_version(self) -> bool:
        return (
            self.active
            and self.current is not None
            and self.version_to_sign is not None
            and self.version_to_sign.pk != self.current.version_id
        )

    @property
    def reconsent_due(self) -> bool:
        return self.newer_version and bool(
            self.version_to_sign and self.version_to_sign.requires_reconsent
        )

    @property
    def can_change(self) -> bool:
        """A single choice can be changed while the version in force keeps the same choices
        (not while a guardian's choices wait for the young person to act on each)."""
        return (
            self.active
            and self.version_to_sign is not None
            and not self.reconsent_due
            and self.guardian_choices is None
        )

    @property
    def can_withdraw(self) -> bool:
        return self.current is not None and bool(withdrawal_levels_open(self.current.status))


def _choices_by_version(version_ids: set[int]) -> dict[int, dict[str, ConsentChoice]]:
    by_version: dict[int, dict[str, ConsentChoice]] = {v: {} for v in version_ids}
    for choice in ConsentChoice.objects.filter(version_id__in=version_ids).order_by("order"):
        by_version[choice.version_id][choice.key] = choice
    return by_version


def record_signer(record: ConsentRecord) -> str:
    """Who signed, in words: the participant, or a proxy (or staff member) for them."""
    name = record.participant.user.full_name
    if record.proxy is not None:
        return _("%(guardian)s (guardian) for %(name)s") % {
            "guardian": record.proxy.full_name,
            "name": name,
        }
    if record.actor_id != record.participant.user_id:
        return _("%(actor)s for %(name)s") % {"actor": record.actor.full_name, "name": name}
    return name


def _summary(record: ConsentRecord) -> str:
    number = {"number": record.version.number}
    if record.kind == RecordKind.CONSENT:
        return _("Gave consent (version %(number)s)") % number
    if record.kind == RecordKind.RECONSENT:
        return _("Consented to a new version (version %(number)s)") % number
    if record.kind == RecordKind.CHANGE:
        return _("Changed choices")
    if record.kind == RecordKind.CONFIRM:
        return _("Confirmed or changed each choice made by the guardian (version %(number)s)") % (
            number
        )
    return _("Withdrew: %(level)s") % {"level": record.get_withdrawal_level_display().lower()}


def _changes(
    record: ConsentRecord, before: dict[str, str], choices: dict[str, ConsentChoice]
) -> tuple[AnswerChange, ...]:
    if record.kind == RecordKind.WITHDRAWAL:
        return ()
    changes = []
    for key in [*choices, *sorted(set(before) - set(choices))]:
        old, new = before.get(key, ""), record.answers.get(key, "")
        if old != new:
            # Never the key: a question this version no longer asks is named as such.
            question = choices[key].question if key in choices else _("a question no longer asked")
            changes.append(AnswerChange(question, answer_label(old), answer_label(new)))
    return tuple(changes)


def consent_overview(participant: Participant) -> ConsentOverview:
    """Everything the participant's home shows, in five queries however long the history."""
    current = current_consent(participant)
    records = list(participant_records(participant).order_by("sequence"))
    choices = _choices_by_version({r.version_id for r in records})
    history: list[HistoryEntry] = []
    since: dict[str, dt.datetime] = {}
    before: dict[str, str] = {}
    for record in records:
        changes = _changes(record, before, choices[record.version_id])
        history.append(HistoryEntry(record, _summary(record), changes, record_signer(record)))
        if record.kind != RecordKind.WITHDRAWAL:
            for key, answer in record.answers.items():
                # Signing a whole form (again) confirms every answer on that day.
                if before.get(key) != answer or record.kind != RecordKind.CHANGE:
                    since[key] = record.created_at
            before = dict(record.answers)
    now: list[ChoiceNow] = []
    if current is not None:
        for key, choice in choices.get(current.version_id, {}).items():
            answer = current.answers.get(key, "")
            now.append(
                ChoiceNow(
                    key,
                    choice.question,
                    choice.explanation,
                    answer_label(answer),
                    since.get(key, current.updated_at),
                )
            )
    return ConsentOverview(
        current=current,
        version_to_sign=consent_version_to_sign(participant, current),
        choices=tuple(now),
        history=tuple(reversed(history)),
        guardian_choices=_guardian_choices(participant, current, records),
    )


def consent_record_answers(record: ConsentRecord) -> list[tuple[str, str]]:
    """(question, answer in words) for each choice of the record's version, in form order."""
    choices = ConsentChoice.objects.filter(version_id=record.version_id).order_by("order")
    return [(c.question, answer_label(record.answers.get(c.key, ""))) for c in choices]


def cohort_ids(purpose: ResearchPurpose) -> list[int]:
    """Ids of participants whose current consent the matcher approves for `purpose`.

    On PostgreSQL the ids come back as binary integer arrays, decoded in C by psycopg, and
    the two halves of the id range are aggregated by two parallel workers (a UNION ALL
    runs as a Parallel Append; a single array_agg would keep the scan in one process).
    """
    query = CurrentConsent.objects.filter(cohort_q(purpose)).values_list(
        "participant_id", flat=True
    )
    if connection.vendor != "postgresql":
        return list(query)
    try:
        sql, params = query.query.sql_with_params()
    except EmptyResultSet:  # the purpose needs review: nobody qualifies automatically
        return []
    connection.ensure_connection()
    # Django's cursors bind client-side, which cannot return binary results.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("SELECT max(participant_id) FROM consent_currentconsent")
        (top,) = cursor.fetchone() or (None,)
        if top is None:
            return []
        # 4-byte integers halve what travels and is decoded, while the ids fit.
        kind = "int4" if top < 2**31 else "int8"
        # `sql` is the ORM's own compiled query; values travel separately in `params`.
        half = (
            f"SELECT {{}}, coalesce(array_agg(participant_id::{kind}), '{{{{}}}}') "  # noqa: S608
            f"FROM ({sql}) AS cohort WHERE participant_id {{}} %s"
        )
        cursor.execute(
            f"{half.format(0, '<=')} UNION ALL {half.format(1, '>')}",
            [*params, top // 2, *params, top // 2],
            binary=True,
        )
        # Parallel workers return the halves in either order; each half is in id order.
        (_, low), (_, high) = sorted(cursor.fetchall(), key=lambda row: row[0])
        return [*low, *high]


def proxy_links(proxy: User) -> QuerySet[ParticipantProxy]:
    """The proxy's links, active first, with each child's current consent."""
    return (
        ParticipantProxy.objects.filter(proxy=proxy)
        .select_related("participant__user", "participant__current_consent")
        .order_by(F("ended_at").desc(nulls_first=True), "participant__study_id")
    )


def proxied_participant(proxy: User, participant_id: object) -> Participant | None:
    """The participant this proxy may act for now (an active link), else None."""
    try:
        pk = int(str(participant_id))
    except ValueError:
        return None
    return (
        Participant.objects.filter(pk=pk, proxies__proxy=proxy, proxies__ended_at__isnull=True)
        .select_related("user")
        .first()
    )


def ended_proxy_link(proxy: User, participant_id: object) -> ParticipantProxy | None:
    """The proxy's latest link to this participant if it has ended (and none is active):
    a former guardian is told their authority ended rather than shown a bare 404."""
    try:
        pk = int(str(participant_id))
    except ValueError:
        return None
    links = ParticipantProxy.objects.filter(participant_id=pk, proxy=proxy)
    if links.filter(ended_at__isnull=True).exists():
        return None
    return links.select_related("participant__user").order_by("-ended_at").first()


def participants_coming_of_age(today: dt.date | None = None) -> list[int]:
    """Ids of participants with an active proxy who have reached the age of majority."""
    today = today or timezone.localdate()
    years = settings.CUSTODIAN_AGE_OF_MAJORITY
    # Born on or before this day of the year `years` ago (29 February handled by the service).
    try:
        cutoff = today.replace(year=today.year - years)
    except ValueError:
        cutoff = dt.date(today.year - years, 2, 28)
    return list(
        Participant.objects.filter(date_of_birth__lte=cutoff, proxies__ended_at__isnull=True)
        .distinct()
        .values_list("pk", flat=True)
    )


# --- "ask me each time" questions -------------------------------------------------------------


def participant_questions(participant: Participant) -> QuerySet[ConsentQuestion]:
    """The only way the participant's pages load a question: another's is a 404."""
    return ConsentQuestion.objects.filter(participant=participant).select_related("answered_by")


@dataclass(frozen=True)
class QuestionCounts:
    pending: int
    total: int


def question_counts(participant: Participant) -> QuestionCounts:
    counts = ConsentQuestion.objects.filter(participant=participant).aggregate(
        pending=Count("pk", filter=Q(status=QuestionStatus.PENDING)), total=Count("pk")
    )
    return QuestionCounts(counts["pending"], counts["total"])


# --- the steward's participant pages ----------------------------------------------------------


def participant_list_with_proxies() -> QuerySet[Participant]:
    """participant_list, each with `active_proxies` loaded (one more query per page)."""
    active = Prefetch(
        "proxies",
        queryset=ParticipantProxy.objects.filter(ended_at__isnull=True).select_related("proxy"),
        to_attr="active_proxies",
    )
    return participant_list().prefetch_related(active)


def steward_participant(participant_id: int) -> Participant | None:
    return Participant.objects.select_related("user").filter(pk=participant_id).first()


def active_proxies(participant: Participant) -> QuerySet[ParticipantProxy]:
    return participant.proxies.filter(ended_at__isnull=True).select_related("proxy")
