"""The steward's consent overview: counts per status and choice, withdrawals per month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncMonth
from django.db.models.lookups import Exact
from django.utils import timezone

from consent.models import (
    Answer,
    ConsentChoice,
    ConsentRecord,
    ConsentStatus,
    CurrentConsent,
    Participant,
    RecordKind,
    VersionStatus,
    WithdrawalLevel,
)


@dataclass(frozen=True)
class StatusCount:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class ChoiceCount:
    key: str
    question: str
    yes: int
    no: int
    ask: int
    # Allowed answers, so "ask" shows as not offered rather than as 0.
    offers_ask: bool


@dataclass(frozen=True)
class VersionChoiceCounts:
    document: str
    number: int
    languages: tuple[str, ...]
    participants: int
    choices: tuple[ChoiceCount, ...]


@dataclass(frozen=True)
class MonthWithdrawals:
    month: dt.date
    counts: tuple[tuple[WithdrawalLevel, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True)
class ConsentStatistics:
    participants: int
    statuses: tuple[StatusCount, ...]
    on_older_versions: int
    versions: tuple[VersionChoiceCounts, ...]
    withdrawals: tuple[MonthWithdrawals, ...]

    @property
    def withdrawals_total(self) -> int:
        return sum(month.total for month in self.withdrawals)


def _status_counts() -> tuple[int, tuple[StatusCount, ...], int]:
    """One query: participants by consent status, suspended, never consented."""
    current = "current_consent"
    counts = Participant.objects.aggregate(
        total=Count("pk"),
        none=Count("pk", filter=Q(current_consent__isnull=True)),
        # Withdrawn participants can be suspended too; what matters is consent given but held.
        suspended=Count(
            "pk",
            filter=Q(current_consent__suspended=True, current_consent__status=ConsentStatus.ACTIVE),
        ),
        older=Count(
            "pk",
            filter=Q(current_consent__status=ConsentStatus.ACTIVE)
            & ~Q(current_consent__version__status=VersionStatus.PUBLISHED),
        ),
        **{
            status: Count("pk", filter=Q(**{f"{current}__status": status}))
            for status in ConsentStatus.values
        },
    )
    statuses = (
        *(StatusCount(s.value, str(s.label), counts[s.value]) for s in ConsentStatus),
        StatusCount("suspended", "Suspended until re-consent", counts["suspended"]),
        StatusCount("none", "Not yet consented", counts["none"]),
    )
    return counts["total"], statuses, counts["older"]


def _choice_counts() -> tuple[VersionChoiceCounts, ...]:
    """Answers of participants with active consent to each published version, languages
    merged by choice key: one query for the choices, one aggregate for all the counts."""
    choices = list(
        ConsentChoice.objects.filter(version__status=VersionStatus.PUBLISHED)
        .select_related("version__document")
        .order_by("version__document__name", "version__number", "order")
    )
    groups: dict[tuple[int, int], list[ConsentChoice]] = {}
    for choice in choices:
        groups.setdefault((choice.version.document_id, choice.version.number), []).append(choice)
    keys = sorted({c.key for c in choices})
    aggregates: dict[str, Any] = {"participants": Count("pk")}
    for index, key in enumerate(keys):
        value = KeyTextTransform(key, "answers")
        for answer in Answer.values:
            aggregates[f"k{index}_{answer}"] = Count("pk", filter=Exact(value, answer))
    rows: dict[tuple[int, int], dict[str, Any]] = {
        (row["version__document_id"], row["version__number"]): dict(row)
        for row in CurrentConsent.objects.filter(
            status=ConsentStatus.ACTIVE, version__status=VersionStatus.PUBLISHED
        )
        .values("version__document_id", "version__number")
        .annotate(**aggregates)
        .order_by()
    }
    result = []
    for group, members in groups.items():
        row = rows.get(group, {})
        # The English wording where the version has it, else the first language's; keys
        # in the order of that form.
        members.sort(key=lambda c: (c.version.language != "en", c.version.language, c.order))
        by_key: dict[str, list[ConsentChoice]] = {}
        for choice in members:
            by_key.setdefault(choice.key, []).append(choice)
        counts = []
        for key, same in by_key.items():
            index = keys.index(key)
            counts.append(
                ChoiceCount(
                    key=key,
                    question=same[0].question,
                    yes=row.get(f"k{index}_yes", 0),
                    no=row.get(f"k{index}_no", 0),
                    ask=row.get(f"k{index}_ask", 0),
                    offers_ask=any(Answer.ASK in c.allowed_answers for c in same),
                )
            )
        first = members[0].version
        result.append(
            VersionChoiceCounts(
                document=first.document.name,
                number=first.number,
                languages=tuple(sorted({c.version.language for c in members})),
                participants=row.get("participants", 0),
                choices=tuple(counts),
            )
        )
    return tuple(result)


def _month_start(day: dt.date, months_back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def _withdrawals_by_month(months: int, today: dt.date) -> tuple[MonthWithdrawals, ...]:
    """Withdrawal records per month and level over the last `months` months: one query."""
    first = _month_start(today, months - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    rows = (
        ConsentRecord.objects.filter(kind=RecordKind.WITHDRAWAL, created_at__gte=start)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "withdrawal_level")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[tuple[dt.date, str], int] = {}
    for row in rows:
        month = row["month"]
        day = timezone.localtime(month).date() if isinstance(month, dt.datetime) else month
        counts[(day, row["withdrawal_level"])] = row["n"]
    levels = list(WithdrawalLevel)  # declared least first: contact, access, use
    return tuple(
        MonthWithdrawals(
            month,
            tuple((level, counts.get((month, level.value), 0)) for level in levels),
        )
        for month in (_month_start(today, back) for back in range(months - 1, -1, -1))
    )


def consent_statistics(*, months: int = 12, today: dt.date | None = None) -> ConsentStatistics:
    """The steward's overview in four aggregate queries, however many participants."""
    total, statuses, older = _status_counts()
    return ConsentStatistics(
        participants=total,
        statuses=statuses,
        on_older_versions=older,
        versions=_choice_counts(),
        withdrawals=_withdrawals_by_month(months, today or timezone.localdate()),
    )
