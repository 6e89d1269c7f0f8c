"""Reads about consent documents and versions, for the steward's pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q

from consent.models import (
    ConsentChoice,
    ConsentDocument,
    ConsentVersion,
    CurrentConsent,
    VersionStatus,
)
from consent.selectors.participants import answer_label


@dataclass(frozen=True)
class VersionRow:
    version: ConsentVersion
    participants: int


@dataclass(frozen=True)
class DocumentRow:
    document: ConsentDocument
    versions: tuple[VersionRow, ...]


def consent_documents() -> list[DocumentRow]:
    """Every document with its versions (newest first) and how many participants' current
    consent is on each version: three queries."""
    on_version = dict(
        CurrentConsent.objects.values("version_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("version_id", "n")
    )
    documents = ConsentDocument.objects.prefetch_related(
        Prefetch("versions", queryset=ConsentVersion.objects.order_by("-number", "language"))
    ).order_by("name")
    return [
        DocumentRow(d, tuple(VersionRow(v, on_version.get(v.pk, 0)) for v in d.versions.all()))
        for d in documents
    ]


def consent_document(document_id: int) -> ConsentDocument | None:
    return ConsentDocument.objects.filter(pk=document_id).first()


def steward_version(version_id: int) -> ConsentVersion | None:
    """A version of any status with its sections, questions and choices loaded."""
    return (
        ConsentVersion.objects.select_related("document", "created_by")
        .prefetch_related("sections", "questions", "choices")
        .filter(pk=version_id)
        .first()
    )


def version_to_start_from(
    document: ConsentDocument, version_id: object = None
) -> ConsentVersion | None:
    """The version a new draft is prefilled from: the one asked for (of this document), else
    the highest number, English first."""
    versions = ConsentVersion.objects.filter(document=document).prefetch_related(
        "sections", "questions", "choices"
    )
    if version_id:
        try:
            return versions.filter(pk=int(str(version_id))).first()
        except ValueError:
            return None
    return (
        versions.annotate(other_language=~Q(language="en"))
        .order_by("-number", "other_language", "language")
        .first()
    )


def versions_in_force(document: ConsentDocument) -> dict[str, int]:
    """{language: number} of the document's published versions."""
    return dict(
        ConsentVersion.objects.filter(
            document=document, status=VersionStatus.PUBLISHED
        ).values_list("language", "number")
    )


def next_version_number(document: ConsentDocument) -> int:
    numbers = ConsentVersion.objects.filter(document=document).values_list("number", flat=True)
    return max(numbers, default=0) + 1


@dataclass(frozen=True)
class ChoiceChange:
    key: str
    question: str
    what: str


@dataclass(frozen=True)
class ChoiceComparison:
    """A draft's choices against the version in force (same document and language).

    Re-consent is required when a key is added or removed, or a choice's meaning or allowed
    answers change: the same rule consent_version_publish applies. New wording alone is not.
    """

    number: int
    in_force: ConsentVersion | None
    added: tuple[ConsentChoice, ...]
    removed: tuple[ConsentChoice, ...]
    changed: tuple[ChoiceChange, ...]

    @property
    def requires_reconsent(self) -> bool:
        return self.in_force is not None and bool(self.added or self.removed or self.changed)

    @property
    def number_allowed(self) -> bool:
        """Only a higher number than the version in force can be published."""
        return self.in_force is None or self.in_force.number < self.number


def _answers_text(allowed: list[str]) -> str:
    return ", ".join(answer_label(a).lower() for a in allowed)


def choice_comparison(version: ConsentVersion) -> ChoiceComparison:
    """Compare with the published version of the same document and language (two queries)."""
    in_force = (
        ConsentVersion.objects.filter(
            document_id=version.document_id,
            language=version.language,
            status=VersionStatus.PUBLISHED,
        )
        .exclude(pk=version.pk)
        .prefetch_related("choices")
        .first()
    )
    if in_force is None:
        return ChoiceComparison(version.number, None, (), (), ())
    old = {c.key: c for c in in_force.choices.all()}
    new = {c.key: c for c in version.choices.all()}
    changed = []
    for key in [k for k in new if k in old]:
        before, after = old[key], new[key]
        if before.meaning != after.meaning:
            what = f"meaning {before.get_meaning_display()} → {after.get_meaning_display()}"
            changed.append(ChoiceChange(key, after.question, what))
        if sorted(before.allowed_answers) != sorted(after.allowed_answers):
            what = (
                f"answers {_answers_text(before.allowed_answers)} → "
                f"{_answers_text(after.allowed_answers)}"
            )
            changed.append(ChoiceChange(key, after.question, what))
    return ChoiceComparison(
        version.number,
        in_force,
        tuple(c for k, c in new.items() if k not in old),
        tuple(c for k, c in old.items() if k not in new),
        tuple(changed),
    )
