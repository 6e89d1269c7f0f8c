"""Writes on consent documents and versions: drafts, publishing, re-consent emails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.languages import participant_language, person_language
from consent.models import (
    USE_WITHDRAWN,
    Answer,
    ChoiceMeaning,
    ComprehensionQuestion,
    ConsentChoice,
    ConsentDocument,
    ConsentSection,
    ConsentVersion,
    CurrentConsent,
    ParticipantProxy,
    VersionStatus,
)
from consent.services.actions import ConsentActions
from consent.services.errors import ConsentError
from consent.tasks import notify_reconsent_task
from consent.transitions import VERSION_TRANSITIONS
from portal.audit import audit_log
from portal.models import User
from portal.services import email_queue
from portal.transitions import transition


def consent_document_create(*, actor: User, name: str, country: str) -> ConsentDocument:
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ConsentError(f"{country!r} is not a two-letter country code.", code="invalid")
    try:
        with transaction.atomic():
            document = ConsentDocument.objects.create(name=name.strip(), country=country)
            audit_log(
                actor=actor,
                action=ConsentActions.DOCUMENT_CREATE,
                target=document,
                after={"name": document.name, "country": country},
            )
    except IntegrityError as exc:
        raise ConsentError(f"A consent document named {name} exists.", code="duplicate") from exc
    return document


def _check_choices(choices: Sequence[Mapping[str, Any]]) -> None:
    keys = [c.get("key", "") for c in choices]
    if not choices:
        raise ConsentError("A consent version needs at least one choice.", code="invalid")
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ConsentError(f"Choice keys must be unique: {', '.join(duplicates)}.", code="invalid")
    for choice in choices:
        key = choice.get("key", "")
        allowed = list(choice.get("allowed_answers") or [])
        if not allowed or set(allowed) - set(Answer.values):
            raise ConsentError(
                f"Choice {key}: allowed answers must be some of yes, no, ask.", code="invalid"
            )
        recommended = choice.get("recommended_answer", "")
        if recommended and recommended not in allowed:
            raise ConsentError(
                f"Choice {key}: the recommended answer {recommended!r} is not an allowed answer.",
                code="invalid",
            )
        if choice.get("meaning") not in ChoiceMeaning.values:
            raise ConsentError(
                f"Choice {key}: unknown meaning {choice.get('meaning')!r}.", code="invalid"
            )


def _check_questions(questions: Sequence[Mapping[str, Any]]) -> None:
    for number, question in enumerate(questions, start=1):
        options = list(question.get("options") or [])
        if len(options) < 2:
            raise ConsentError(f"Question {number} needs at least two options.", code="invalid")
        if not 0 <= int(question.get("correct_option", -1)) < len(options):
            raise ConsentError(
                f"Question {number}: the right answer is not one of its options.", code="invalid"
            )


def consent_version_create(
    *,
    actor: User,
    document: ConsentDocument,
    number: int,
    language: str,
    title: str,
    body: str = "",
    summary: str = "",
    sections: Sequence[Mapping[str, str]] = (),
    questions: Sequence[Mapping[str, Any]] = (),
    choices: Sequence[Mapping[str, Any]],
) -> ConsentVersion:
    """A draft version with its sections, comprehension questions and choices."""
    _check_choices(choices)
    _check_questions(questions)
    try:
        with transaction.atomic():
            version = ConsentVersion.objects.create(
                document=document,
                number=number,
                language=language,
                title=title,
                summary=summary,
                body=body,
                created_by=actor,
            )
            ConsentSection.objects.bulk_create(
                ConsentSection(version=version, order=i, heading=s["heading"], body=s["body"])
                for i, s in enumerate(sections, start=1)
            )
            ComprehensionQuestion.objects.bulk_create(
                ComprehensionQuestion(
                    version=version,
                    order=i,
                    text=q["text"],
                    options=list(q["options"]),
                    correct_option=int(q["correct_option"]),
                    explanation=q["explanation"],
                )
                for i, q in enumerate(questions, start=1)
            )
            ConsentChoice.objects.bulk_create(
                ConsentChoice(
                    version=version,
                    order=i,
                    key=c["key"],
                    question=c["question"],
                    explanation=c.get("explanation", ""),
                    meaning=c["meaning"],
                    allowed_answers=list(c["allowed_answers"]),
                    recommended_answer=c.get("recommended_answer", ""),
                )
                for i, c in enumerate(choices, start=1)
            )
            audit_log(
                actor=actor,
                action=ConsentActions.VERSION_CREATE,
                target=version,
                after={"document": document.pk, "number": number, "language": language},
            )
    except IntegrityError as exc:
        raise ConsentError(
            f"{document.name} already has a version {number} in {language}.", code="duplicate"
        ) from exc
    return version


def _choice_signature(version: ConsentVersion) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (c.key, c.meaning, tuple(sorted(c.allowed_answers)))
        for c in version.choices.order_by("key")
    ]


def consent_version_publish(
    *, actor: User, version: ConsentVersion, suspends_previous: bool = False
) -> ConsentVersion:
    """1. supersede the version in force (same document and language); 2. publish this one,
    marking it as requiring re-consent when its choices differ; 3. if the steward says so,
    suspend the consent given to older versions until participants re-consent."""
    with transaction.atomic():
        version = ConsentVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != VersionStatus.DRAFT:
            raise ConsentError(
                f"Version {version.number} ({version.language}) is "
                f"{version.get_status_display().lower()}: only a draft can be published.",
                code="not_draft",
                http_status=409,
            )
        previous = (
            ConsentVersion.objects.select_for_update()
            .filter(
                document=version.document, language=version.language, status=VersionStatus.PUBLISHED
            )
            .first()
        )
        if previous is not None and previous.number >= version.number:
            raise ConsentError(
                f"Version {previous.number} is already in force; publish a higher number.",
                code="invalid",
            )
        requires_reconsent = previous is not None and (
            _choice_signature(previous) != _choice_signature(version)
        )
        if previous is not None:
            transition(
                previous,
                VersionStatus.SUPERSEDED,
                table=VERSION_TRANSITIONS,
                actor=actor,
                reason=f"superseded by version {version.number}",
            )
        transition(
            version,
            VersionStatus.PUBLISHED,
            table=VERSION_TRANSITIONS,
            actor=actor,
            extra={
                "published_at": timezone.now(),
                "requires_reconsent": requires_reconsent,
                "suspends_previous": suspends_previous and requires_reconsent,
            },
        )
        if requires_reconsent:
            transaction.on_commit(lambda: _queue_reconsent_batch(version.pk, 0))
        if version.suspends_previous:
            suspended = (
                CurrentConsent.objects.filter(
                    version__document=version.document,
                    version__language=version.language,
                    suspended=False,
                )
                .exclude(version=version)
                .update(suspended=True)
            )
            audit_log(
                actor=actor,
                action=ConsentActions.VERSION_SUSPEND_PREVIOUS,
                target=version,
                after={"participants_suspended": suspended},
            )
    return version


def _queue_reconsent_batch(version_id: int, after_participant_id: int) -> None:
    notify_reconsent_task.delay(version_id, after_participant_id)


def _active_guardians(participant_ids: list[int]) -> dict[int, list[User]]:
    guardians: dict[int, list[User]] = {}
    links = ParticipantProxy.objects.filter(
        participant_id__in=participant_ids, ended_at__isnull=True
    ).select_related("proxy")
    for link in links:
        guardians.setdefault(link.participant_id, []).append(link.proxy)
    return guardians


def reconsent_notify_batch(*, version: ConsentVersion, after_participant_id: int) -> int | None:
    """Email the next batch of participants whose consent predates `version`.

    Returns the last participant id emailed (the next batch starts after it), or None when
    everyone has been told. Batches keep each task short and a retry cheap.
    """
    size = settings.CUSTODIAN_RECONSENT_BATCH
    batch = list(
        CurrentConsent.objects.filter(
            version__document=version.document_id,
            version__language=version.language,
            participant_id__gt=after_participant_id,
        )
        .exclude(version=version)
        # Withdrawn from use: nothing is asked of them again (a suspended consent is asked).
        .exclude(status=USE_WITHDRAWN)
        .select_related("participant__user")
        .order_by("participant_id")[:size]
    )
    if not batch:
        return None
    guardians = _active_guardians([current.participant_id for current in batch])
    with transaction.atomic(durable=True):
        for current in batch:
            participant = current.participant
            # A child's guardian decides for them, so the guardian is told (in their language).
            for person in guardians.get(participant.pk) or [participant.user]:
                email_queue(
                    to=person.email,
                    language=person_language(person)
                    if person.pk != participant.user_id
                    else participant_language(participant),
                    template="consent/email/reconsent.txt",
                    context={
                        "user": person,
                        "participant": participant,
                        "version": version,
                        "suspended": current.suspended,
                    },
                )
        audit_log(
            actor=None,
            action=ConsentActions.VERSION_NOTIFY_RECONSENT,
            target=version,
            after={
                "participants": len(batch),
                "from": batch[0].participant_id,
                "to": batch[-1].participant_id,
            },
        )
        last = batch[-1].participant_id
        if len(batch) == size:
            transaction.on_commit(lambda: _queue_reconsent_batch(version.pk, last))
    return last
