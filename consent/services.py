"""Writes on participants, consent documents and consent records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from consent.ledger import record_hash
from consent.meanings import consent_terms
from consent.models import (
    WITHDRAWAL_RANK,
    Answer,
    Channel,
    ChoiceMeaning,
    ComprehensionQuestion,
    ConsentChoice,
    ConsentDocument,
    ConsentReceipt,
    ConsentRecord,
    ConsentSection,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    ParticipantProxy,
    RecordKind,
    VersionStatus,
    WithdrawalLevel,
)
from consent.receipts import receipt_filename, receipt_pdf, sha256_hex
from consent.tasks import generate_receipt_task
from consent.transitions import VERSION_TRANSITIONS
from portal.audit import GENESIS_HASH, audit_log
from portal.exceptions import PortalError, StaleStateError
from portal.models import Role, User, normalize_email
from portal.services import email_queue, invitation_link, user_invite
from portal.transitions import transition


class ConsentError(PortalError):
    code = "consent_error"


class StaleConsentError(StaleStateError):
    """The form was loaded before someone else changed this participant's consent."""

    code = "stale_consent"


def participant_enrol(
    *,
    actor: User,
    study_id: str,
    email: str,
    full_name: str,
    language: str = "en",
    date_of_birth: dt.date | None = None,
    account: User | None = None,
) -> Participant:
    """1. refuse a duplicate study ID; 2. invite an account (or take the given one);
    3. link the participant."""
    study_id = study_id.strip()
    if not study_id:
        raise ConsentError("A study ID is required.", code="invalid")
    with transaction.atomic():
        if Participant.objects.select_for_update().filter(study_id=study_id).exists():
            raise ConsentError(f"The study ID {study_id} is already enrolled.", code="duplicate")
        if account is None:
            user = user_invite(actor=actor, email=email, full_name=full_name, role=Role.PARTICIPANT)
        elif account.role != Role.PARTICIPANT:
            raise ConsentError(f"{account.email} is not a participant account.", code="invalid")
        elif Participant.objects.filter(user=account).exists():
            raise ConsentError(f"{account.email} is already enrolled.", code="duplicate")
        else:
            user = account
        participant = Participant.objects.create(
            user=user,
            study_id=study_id,
            language=language,
            date_of_birth=date_of_birth,
            enrolled_by=actor,
        )
        audit_log(
            actor=actor,
            action="participant.enrol",
            target=participant,
            after={"study_id": study_id, "user_id": user.pk},
        )
    return participant


# --- proxies ----------------------------------------------------------------------------------


def majority_date(date_of_birth: dt.date) -> dt.date:
    """The day the participant comes of age (29 February births: 1 March in common years)."""
    years = settings.CUSTODIAN_AGE_OF_MAJORITY
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:
        return dt.date(date_of_birth.year + years, 3, 1)


def _today() -> dt.date:
    return timezone.localdate()


def proxy_link(
    *,
    actor: User,
    participant: Participant,
    email: str,
    full_name: str,
    relationship: str = "parent or guardian",
) -> ParticipantProxy:
    """A steward links a guardian to a child participant; a new guardian is invited."""
    with transaction.atomic():
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if participant.date_of_birth is None:
            raise ConsentError(
                f"{participant.study_id} has no date of birth: a proxy acts only for a child.",
                code="invalid",
            )
        if majority_date(participant.date_of_birth) <= _today():
            raise ConsentError(
                f"{participant.study_id} is an adult and consents for themselves.", code="invalid"
            )
        proxy = User.objects.filter(email=normalize_email(email)).first()
        if proxy is None:
            proxy = user_invite(actor=actor, email=email, full_name=full_name, role=Role.PROXY)
        elif proxy.role != Role.PROXY:
            raise ConsentError(f"{proxy.email} is not a proxy account.", code="invalid")
        if participant.proxies.filter(proxy=proxy, ended_at__isnull=True).exists():
            raise ConsentError(
                f"{proxy.email} already acts for {participant.study_id}.", code="duplicate"
            )
        link = ParticipantProxy.objects.create(
            participant=participant, proxy=proxy, relationship=relationship, linked_by=actor
        )
        audit_log(
            actor=actor,
            action="proxy.link",
            target=link,
            after={"participant": participant.study_id, "proxy": proxy.email},
        )
    return link


def _check_proxy_authority(participant: Participant, proxy: User) -> None:
    link = participant.proxies.filter(proxy=proxy).order_by("-linked_at").first()
    if link is None:
        raise ConsentError(f"You do not act for {participant.study_id}.", code="not_proxy")
    if link.ended_at is not None:
        raise ConsentError(
            f"Your authority to act for {participant.study_id} ended on "
            f"{timezone.localtime(link.ended_at):%d %B %Y} ({link.end_reason}).",
            code="proxy_ended",
        )
    if participant.date_of_birth and majority_date(participant.date_of_birth) <= _today():
        raise ConsentError(
            f"{participant.study_id} has come of age: they now consent for themselves.",
            code="proxy_ended",
        )


def proxy_majority_handover(*, participant: Participant, today: dt.date | None = None) -> int:
    """End the proxies of a participant who has come of age and invite them to take over.

    Returns the number of links ended (0 when there was nothing to do: a rerun is a no-op).
    """
    today = today or _today()
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update().select_related("user").get(pk=participant.pk)
        )
        if participant.date_of_birth is None or majority_date(participant.date_of_birth) > today:
            return 0
        links = list(participant.proxies.select_for_update().filter(ended_at__isnull=True))
        if not links:
            return 0
        now = timezone.now()
        for link in links:
            link.ended_at = now
            link.end_reason = "the participant came of age"
            link.save(update_fields=["ended_at", "end_reason"])
            audit_log(
                actor=None, action="proxy.end", target=link, after={"reason": link.end_reason}
            )
        user = participant.user
        link_to_follow = (
            invitation_link(user) if not user.has_usable_password() else settings.SITE_URL
        )
        email_queue(
            to=user.email,
            template="consent/email/majority_handover.txt",
            context={"user": user, "participant": participant, "link": link_to_follow},
        )
    return len(links)


# --- documents and versions -------------------------------------------------------------------


def consent_document_create(*, actor: User, name: str, country: str) -> ConsentDocument:
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise ConsentError(f"{country!r} is not a two-letter country code.", code="invalid")
    try:
        with transaction.atomic():
            document = ConsentDocument.objects.create(name=name.strip(), country=country)
            audit_log(
                actor=actor,
                action="consent_document.create",
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
        default = choice.get("default_answer", "")
        if default and default not in allowed:
            raise ConsentError(
                f"Choice {key}: the default {default!r} is not an allowed answer.", code="invalid"
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
                    default_answer=c.get("default_answer", ""),
                )
                for i, c in enumerate(choices, start=1)
            )
            audit_log(
                actor=actor,
                action="consent_version.create",
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
                action="consent_version.suspend_previous",
                target=version,
                after={"participants_suspended": suspended},
            )
    return version


RECONSENT_BATCH = 100


def _queue_reconsent_batch(version_id: int, after_participant_id: int) -> None:
    from consent.tasks import notify_reconsent_task  # tasks import services

    notify_reconsent_task.delay(version_id, after_participant_id)


def reconsent_notify_batch(*, version: ConsentVersion, after_participant_id: int) -> int | None:
    """Email the next batch of participants whose consent predates `version`.

    Returns the last participant id emailed (the next batch starts after it), or None when
    everyone has been told. Batches keep each task short and a retry cheap.
    """
    batch = list(
        CurrentConsent.objects.filter(
            version__document=version.document_id,
            version__language=version.language,
            participant_id__gt=after_participant_id,
        )
        .exclude(version=version)
        .exclude(status=ConsentStatus.NO_USE)
        .select_related("participant__user")
        .order_by("participant_id")[:RECONSENT_BATCH]
    )
    if not batch:
        return None
    with transaction.atomic():
        for current in batch:
            email_queue(
                to=current.participant.user.email,
                template="consent/email/reconsent.txt",
                context={
                    "user": current.participant.user,
                    "version": version,
                    "suspended": current.suspended,
                },
            )
        audit_log(
            actor=None,
            action="consent_version.notify_reconsent",
            target=version,
            after={
                "participants": len(batch),
                "from": batch[0].participant_id,
                "to": batch[-1].participant_id,
            },
        )
        last = batch[-1].participant_id
        if len(batch) == RECONSENT_BATCH:
            transaction.on_commit(lambda: _queue_reconsent_batch(version.pk, last))
    return last


# --- consent records ----------------------------------------------------------------------------


def _normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_signature(signature: str, signer: User) -> str:
    signature = " ".join(signature.split())
    if not signature:
        raise ConsentError("Type your full name to sign.", code="signature_missing")
    if _normalise_name(signature) != _normalise_name(signer.full_name):
        raise ConsentError(
            f"The signature must be your full name as on your account ({signer.full_name}).",
            code="signature_mismatch",
        )
    return signature


def _check_answers(version: ConsentVersion, answers: Mapping[str, str]) -> dict[str, str]:
    choices = {c.key: c for c in version.choices.all()}
    unknown = sorted(set(answers) - set(choices))
    if unknown:
        raise ConsentError(f"Unknown choices: {', '.join(unknown)}.", code="unknown_choice")
    missing = sorted(set(choices) - set(answers))
    if missing:
        # Participants read this: name the questions; the keys in brackets serve API clients.
        questions = "; ".join(f"{choices[k].question} ({k})" for k in missing)
        raise ConsentError(
            f"Please answer every question. Not answered: {questions}", code="missing_answer"
        )
    for key, answer in answers.items():
        if answer not in choices[key].allowed_answers:
            allowed = ", ".join(Answer(a).label.lower() for a in choices[key].allowed_answers)
            raise ConsentError(
                f"{answer!r} is not an allowed answer to “{choices[key].question}” ({key}); "
                f"allowed: {allowed}.",
                code="answer_not_allowed",
            )
    return {key: answers[key] for key in sorted(choices)}


def _locked_current(participant: Participant, expected_sequence: int) -> CurrentConsent | None:
    """Lock the participant (serializing their submissions) and check the form is fresh."""
    Participant.objects.select_for_update().get(pk=participant.pk)
    current = (
        CurrentConsent.objects.select_related("version__document", "record")
        .filter(participant=participant)
        .first()
    )
    sequence = current.sequence if current else 0
    if sequence != expected_sequence:
        raise StaleConsentError(
            "Your consent was changed since this page was loaded (for example in another "
            "window). Nothing was saved: check your current choices below and submit again.",
        )
    return current


def _append(
    *,
    participant: Participant,
    current: CurrentConsent | None,
    version: ConsentVersion,
    kind: RecordKind,
    answers: dict[str, str],
    status: ConsentStatus,
    withdrawal_level: str,
    actor: User,
    proxy: User | None,
    channel: Channel,
    signature: str,
) -> ConsentRecord:
    record = ConsentRecord(
        participant=participant,
        sequence=(current.sequence if current else 0) + 1,
        version=version,
        kind=kind,
        answers=answers,
        withdrawal_level=withdrawal_level,
        actor=actor,
        proxy=proxy,
        channel=channel,
        signature=signature,
        created_at=timezone.now(),
        previous_hash=current.record.record_hash if current else GENESIS_HASH,
    )
    record.record_hash = record_hash(record)
    record.save(force_insert=True)
    meanings = {c.key: c.meaning for c in version.choices.all()}
    terms = consent_terms(meanings, answers, country=version.document.country)
    projection = {
        "record": record,
        "sequence": record.sequence,
        "version": version,
        "status": status,
        "suspended": False,
        "answers": answers,
        "updated_at": record.created_at,
        **terms.projection_fields(),
    }
    # The participant row is locked, so nobody else can create or move this row meanwhile.
    if current is None:
        CurrentConsent.objects.create(participant=participant, **projection)
    else:
        CurrentConsent.objects.filter(participant=participant).update(**projection)
    audit_log(
        actor=actor,
        action=f"consent.{kind}",
        target=record,
        before={"status": current.status, "answers": current.answers} if current else {},
        after={
            "status": status,
            "answers": answers,
            "withdrawal_level": withdrawal_level,
            "sequence": record.sequence,
        },
    )
    return record


def consent_record(
    *,
    actor: User,
    participant: Participant,
    version: ConsentVersion,
    answers: Mapping[str, str],
    signature: str,
    channel: Channel,
    expected_sequence: int,
    proxy: User | None = None,
) -> ConsentRecord:
    """First consent, a change of choices, or consent to a newer version.

    1. lock the participant and refuse a stale form; 2. check the version is the one in
    force, the answers and the signature; 3. append the chained record, rewrite the
    projection and audit, all in one transaction.
    """
    with transaction.atomic():
        current = _locked_current(participant, expected_sequence)
        # One read of the version and its choices, used to check and to project.
        version = (
            ConsentVersion.objects.select_related("document")
            .prefetch_related("choices")
            .get(pk=version.pk)
        )
        if version.status != VersionStatus.PUBLISHED:
            raise StaleConsentError(
                "This version of the consent form is no longer in force; a newer one was "
                "published. Nothing was saved: please read the new version.",
            )
        if current is not None and current.status != ConsentStatus.ACTIVE:
            raise ConsentError(
                f"You have withdrawn ({WithdrawalLevel(current.status).label.lower()}). To "
                "take part again, contact the study team.",
                code="withdrawn",
            )
        if proxy is not None:
            _check_proxy_authority(participant, proxy)
        clean = _check_answers(version, answers)
        signature = _check_signature(signature, proxy or participant.user)
        if current is None:
            kind = RecordKind.CONSENT
        elif current.version_id == version.pk:
            if current.answers == clean and not current.suspended:
                raise ConsentError(
                    "Nothing changed: your choices are already these.", code="no_change"
                )
            kind = RecordKind.CHANGE
        else:
            kind = RecordKind.RECONSENT
        return _append(
            participant=participant,
            current=current,
            version=version,
            kind=kind,
            answers=clean,
            status=ConsentStatus.ACTIVE,
            withdrawal_level="",
            actor=actor,
            proxy=proxy,
            channel=channel,
            signature=signature,
        )


def consent_withdraw(
    *,
    actor: User,
    participant: Participant,
    level: WithdrawalLevel,
    signature: str,
    channel: Channel,
    expected_sequence: int,
    proxy: User | None = None,
) -> ConsentRecord:
    """Withdraw at a level; a later withdrawal may only go further (contact < access < use)."""
    with transaction.atomic():
        current = _locked_current(participant, expected_sequence)
        if current is None:
            raise ConsentError("There is no consent to withdraw.", code="no_consent")
        if level not in WITHDRAWAL_RANK:
            raise ConsentError(f"Unknown withdrawal level {level!r}.", code="invalid")
        if proxy is not None:
            _check_proxy_authority(participant, proxy)
        signature = _check_signature(signature, proxy or participant.user)
        already = (
            WITHDRAWAL_RANK.get(WithdrawalLevel(current.status), 0)
            if (current.status in WithdrawalLevel.values)
            else 0
        )
        if already >= WITHDRAWAL_RANK[WithdrawalLevel(level)]:
            raise ConsentError(
                f"You have already withdrawn: {WithdrawalLevel(current.status).label.lower()}. "
                "A withdrawal can only go further.",
                code="already_withdrawn",
            )
        return _append(
            participant=participant,
            current=current,
            version=current.version,
            kind=RecordKind.WITHDRAWAL,
            answers=dict(current.answers),
            status=ConsentStatus(level),
            withdrawal_level=level,
            actor=actor,
            proxy=proxy,
            channel=channel,
            signature=signature,
        )


# --- the web journey: checks before signing, receipts after ------------------------------------


def consent_answers_check(*, version: ConsentVersion, answers: Mapping[str, str]) -> dict[str, str]:
    """The checks consent_record makes on answers, for a form step that writes nothing yet."""
    return _check_answers(version, answers)


def consent_receipt_queue(*, record: ConsentRecord) -> None:
    """Make and email the record's receipt from a worker once the record is committed."""
    transaction.on_commit(lambda: generate_receipt_task.delay(record.pk))


def consent_record_with_receipt(
    *,
    actor: User,
    participant: Participant,
    version: ConsentVersion,
    answers: Mapping[str, str],
    signature: str,
    channel: Channel,
    expected_sequence: int,
    proxy: User | None = None,
) -> ConsentRecord:
    """consent_record, and its receipt made and emailed after commit."""
    with transaction.atomic():
        record = consent_record(
            actor=actor,
            participant=participant,
            version=version,
            answers=answers,
            signature=signature,
            channel=channel,
            expected_sequence=expected_sequence,
            proxy=proxy,
        )
        consent_receipt_queue(record=record)
    return record


def consent_withdraw_with_receipt(
    *,
    actor: User,
    participant: Participant,
    level: WithdrawalLevel,
    signature: str,
    channel: Channel,
    expected_sequence: int,
    proxy: User | None = None,
) -> ConsentRecord:
    """consent_withdraw, and its receipt made and emailed after commit."""
    with transaction.atomic():
        record = consent_withdraw(
            actor=actor,
            participant=participant,
            level=level,
            signature=signature,
            channel=channel,
            expected_sequence=expected_sequence,
            proxy=proxy,
        )
        consent_receipt_queue(record=record)
    return record


def consent_receipt_create(*, actor: User | None, record: ConsentRecord) -> ConsentReceipt:
    """The record's PDF receipt, made once.

    1. return it if it exists; 2. else lock the record and look again (the task and a
    download may race); 3. render the PDF, store it with its SHA-256 and audit.
    """
    receipt = ConsentReceipt.objects.filter(record_id=record.pk).first()
    if receipt is not None:
        return receipt
    with transaction.atomic():
        ConsentRecord.objects.select_for_update().get(pk=record.pk)
        receipt = ConsentReceipt.objects.filter(record_id=record.pk).first()
        if receipt is not None:
            return receipt
        pdf = receipt_pdf(record)
        receipt = ConsentReceipt.objects.create(record=record, sha256=sha256_hex(pdf), pdf=pdf)
        audit_log(
            actor=actor,
            action="consent.receipt",
            target=receipt,
            after={"record": record.pk, "sha256": receipt.sha256},
        )
    return receipt


def _receipt_email(receipt: ConsentReceipt, record: ConsentRecord) -> EmailMessage:
    recipients = [record.participant.user.email]
    if record.proxy is not None:
        recipients.append(record.proxy.email)
    link = settings.SITE_URL + reverse("consent:receipt", kwargs={"record_id": record.pk})
    text = render_to_string(
        "consent/email/receipt.txt", {"record": record, "receipt": receipt, "link": link}
    )
    subject, _, body = text.strip().partition("\n")
    message = EmailMessage(subject.strip(), body.strip(), to=recipients)
    message.attach(receipt_filename(record), bytes(receipt.pdf), "application/pdf")
    return message


def consent_receipt_deliver(*, record: ConsentRecord) -> ConsentReceipt:
    """Make the receipt if needed, then email it once (to the participant and any proxy)."""
    receipt = consent_receipt_create(actor=None, record=record)
    record = ConsentRecord.objects.select_related(
        "participant__user", "proxy", "version__document"
    ).get(pk=record.pk)
    with transaction.atomic():
        receipt = ConsentReceipt.objects.select_for_update().get(pk=receipt.pk)
        if receipt.emailed_at is not None:
            return receipt
        # Sent before emailed_at is saved: a crash in between sends it twice, never not at all.
        _receipt_email(receipt, record).send()
        receipt.emailed_at = timezone.now()
        receipt.save(update_fields=["emailed_at"])
        audit_log(
            actor=None,
            action="consent.receipt_email",
            target=receipt,
            after={"record": record.pk},
        )
    return receipt
