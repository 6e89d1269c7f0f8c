"""Writes on consent records: consent, change, withdrawal, and their receipts."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent import selectors
from consent.languages import participant_language, person_language
from consent.ledger import record_hash
from consent.meanings import consent_terms
from consent.models import (
    Answer,
    Channel,
    ConsentChoice,
    ConsentReceipt,
    ConsentRecord,
    ConsentStatus,
    ConsentVersion,
    CurrentConsent,
    Participant,
    RecordKind,
    VersionStatus,
    WithdrawalLevel,
)
from consent.receipts import receipt_filename, receipt_pdf, sha256_hex
from consent.services.actions import RECORD_ACTIONS, ConsentActions
from consent.services.errors import ConsentError, MissingAnswersError, StaleConsentError
from consent.services.participants import check_proxy_authority
from consent.services.requests import consent_questions_withdraw_obsolete
from consent.tasks import generate_receipt_task
from consent.transitions import withdrawal_allowed
from portal.audit import GENESIS_HASH, audit_log
from portal.db import PreparedQuery, insert_prepared, update_prepared
from portal.models import User


def _normalise_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_signature(signature: str, signer: User) -> str:
    signature = " ".join(signature.split())
    if not signature:
        raise ConsentError(_("Type your full name to sign."), code="signature_missing")
    if _normalise_name(signature) != _normalise_name(signer.full_name):
        raise ConsentError(
            _("The signature must be your full name as on your account (%(name)s).")
            % {"name": signer.full_name},
            code="signature_mismatch",
        )
    return signature


def _check_answers(
    version_choices: list[ConsentChoice], answers: Mapping[str, str]
) -> dict[str, str]:
    choices = {c.key: c for c in version_choices}
    unknown = sorted(set(answers) - set(choices))
    if unknown:
        raise ConsentError(f"Unknown choices: {', '.join(unknown)}.", code="unknown_choice")
    # Valid consent is the participant's own act on every question: nothing is filled in for
    # them, so a blank answer is as missing as an absent one.
    missing = [c for c in choices.values() if not str(answers.get(c.key, "")).strip()]
    if missing:
        raise MissingAnswersError(missing)
    for key, answer in answers.items():
        if answer not in choices[key].allowed_answers:
            allowed = ", ".join(Answer(a).label.lower() for a in choices[key].allowed_answers)
            raise ConsentError(
                _("“%(answer)s” is not an allowed answer to “%(question)s”; allowed: %(allowed)s.")
                % {
                    "answer": Answer(answer).label if answer in Answer.values else answer,
                    "question": choices[key].question,
                    "allowed": allowed,
                },
                code="answer_not_allowed",
            )
    return {key: answers[key] for key in sorted(choices)}


def _child(participant: Participant) -> dict[str, str]:
    return {"name": participant.user.get_short_name()}


# A consent update's reads, compiled once (portal.db.PreparedQuery says why).
_LOCK_PARTICIPANT = PreparedQuery(
    lambda: Participant.objects.select_for_update().filter(pk=0).values_list("pk")
)
_CURRENT_WITH_RECORD = PreparedQuery(
    lambda: CurrentConsent.objects.select_related("record").filter(participant_id=0)
)
_CHOICES_IF_PUBLISHED = PreparedQuery(
    lambda: (
        ConsentChoice.objects.filter(version_id=0)
        .filter(version__status=VersionStatus.PUBLISHED)
        .order_by("order")
    )
)


def _locked_current(
    participant: Participant, expected_sequence: int, *, proxy: User | None = None
) -> CurrentConsent | None:
    """Lock the participant (serializing their submissions) and check the form is fresh.

    Two statements, not one: a `SELECT ... FOR UPDATE` that waited for the lock re-checks
    only the locked row, and would return the current consent as it was before the writer
    it waited for committed (tests/consent/test_concurrency.py)."""
    if not _LOCK_PARTICIPANT.rows(participant.pk):
        raise Participant.DoesNotExist(f"participant {participant.pk} is gone")
    # The record for its hash (the next record's link); the version only when needed.
    current: CurrentConsent | None = _CURRENT_WITH_RECORD.first(participant.pk)
    sequence = current.sequence if current else 0
    if sequence != expected_sequence:
        if proxy is not None:
            raise StaleConsentError(
                _(
                    "%(name)s's consent was changed since this page was loaded (for example in "
                    "another window). Nothing was saved: check %(name)s's current choices below "
                    "and submit again."
                )
                % _child(participant),
            )
        raise StaleConsentError(
            _(
                "Your consent was changed since this page was loaded (for example in another "
                "window). Nothing was saved: check your current choices below and submit again."
            ),
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
    receipt: bool,
    choices: list[ConsentChoice],
    audit_extra: Mapping[str, object] | None = None,
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
    insert_prepared(record)
    meanings = {c.key: c.meaning for c in choices}
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
        update_prepared(CurrentConsent, ("participant", participant.pk), projection)
    audit_log(
        actor=actor,
        action=RECORD_ACTIONS[kind],
        target=record,
        before={"status": current.status, "answers": current.answers} if current else {},
        after={
            "status": status,
            "answers": answers,
            "withdrawal_level": withdrawal_level,
            "sequence": record.sequence,
            # Binds the record to its sealed audit entry: the participant's browser checks
            # the record's own hash, then that this entry (proved in the log) carries it.
            "record_hash": record.record_hash,
            **(audit_extra or {}),
        },
    )
    if current is not None:
        # "Ask me each time" questions about a choice that is no longer "ask" are moot.
        consent_questions_withdraw_obsolete(
            participant=participant,
            before=current.answers,
            after=answers if status == ConsentStatus.ACTIVE else {},
        )
    if receipt:
        consent_receipt_queue(record=record)
    return record


def _choices_in_force(version: ConsentVersion) -> list[ConsentChoice]:
    """The version's choices, read only if the version is still the one in force: one query
    checks and reads (every version has at least one choice, so none means not in force)."""
    choices: list[ConsentChoice] = _CHOICES_IF_PUBLISHED.rows(
        version.pk, VersionStatus.PUBLISHED.value
    )
    if not choices:
        raise StaleConsentError(
            _(
                "This version of the consent form is no longer in force; a newer one was "
                "published. Nothing was saved: please read the new version."
            ),
        )
    return choices


def _check_active(
    participant: Participant, current: CurrentConsent | None, proxy: User | None
) -> None:
    if current is None or current.status == ConsentStatus.ACTIVE:
        return
    level = {"level": WithdrawalLevel(current.status).label.lower()}
    if proxy is not None:
        raise ConsentError(
            _("%(name)s has withdrawn (%(level)s). To take part again, contact the study team.")
            % {**level, **_child(participant)},
            code="withdrawn",
        )
    raise ConsentError(
        _("You have withdrawn (%(level)s). To take part again, contact the study team.") % level,
        code="withdrawn",
    )


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
    receipt: bool = True,
) -> ConsentRecord:
    """First consent, a change of choices, or consent to a newer version.

    1. lock the participant and refuse a stale form; 2. check the version is the one in
    force, the answers and the signature; 3. append the chained record, rewrite the
    projection and audit, all in one transaction; 4. after commit, a worker makes the PDF
    receipt and emails it (`receipt=False` for bulk imports such as the demo).
    """
    with transaction.atomic():
        current = _locked_current(participant, expected_sequence, proxy=proxy)
        choices = _choices_in_force(version)
        _check_active(participant, current, proxy)
        if proxy is not None:
            check_proxy_authority(participant, proxy)
        clean = _check_answers(choices, answers)
        signature = _check_signature(signature, proxy or participant.user)
        if current is None:
            kind = RecordKind.CONSENT
        elif current.version_id == version.pk:
            if current.answers == clean and not current.suspended:
                raise ConsentError(
                    _("Nothing changed: %(name)s's choices are already these.")
                    % _child(participant)
                    if proxy is not None
                    else _("Nothing changed: your choices are already these."),
                    code="no_change",
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
            receipt=receipt,
            choices=choices,
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
    receipt: bool = True,
) -> ConsentRecord:
    """Withdraw at a level; a later withdrawal may only go further (contact < access < use)."""
    with transaction.atomic():
        current = _locked_current(participant, expected_sequence, proxy=proxy)
        if current is None:
            raise ConsentError(_("There is no consent to withdraw."), code="no_consent")
        if level not in WithdrawalLevel.values:
            raise ConsentError(f"Unknown withdrawal level {level!r}.", code="invalid")
        if proxy is not None:
            check_proxy_authority(participant, proxy)
        signature = _check_signature(signature, proxy or participant.user)
        if not withdrawal_allowed(current.status, level):
            reached = {"level": WithdrawalLevel(current.status).label.lower()}
            raise ConsentError(
                _("%(name)s has already withdrawn: %(level)s. A withdrawal can only go further.")
                % {**reached, **_child(participant)}
                if proxy is not None
                else _("You have already withdrawn: %(level)s. A withdrawal can only go further.")
                % reached,
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
            receipt=receipt,
            choices=list(current.version.choices.all()),
        )


def consent_confirm(
    *,
    actor: User,
    participant: Participant,
    version: ConsentVersion,
    answers: Mapping[str, str],
    signature: str,
    channel: Channel,
    expected_sequence: int,
    receipt: bool = True,
) -> ConsentRecord:
    """A young person who came of age confirms or changes each choice their guardian made.

    Unlike `consent_record`, an unchanged submission is accepted: keeping the guardian's
    answer is an act of its own, and the record says the consent is now the participant's.

    1. lock the participant and refuse a stale form; 2. refuse anyone but the participant,
    and a participant with no guardian's choices waiting (a child, a withdrawn consent,
    choices already made their own); 3. check the version, every answer (none may be left
    to the guardian) and the participant's own signature; 4. append a `confirm` record and
    audit which answers were kept and which changed; 5. after commit, the receipt.
    """
    with transaction.atomic(durable=True):
        current = _locked_current(participant, expected_sequence)
        participant = Participant.objects.select_related("user").get(pk=participant.pk)
        if actor.pk != participant.user_id:
            raise ConsentError(
                _(
                    "Only %(name)s can confirm the choices made for them: a guardian's "
                    "authority ends when %(name)s comes of age."
                )
                % _child(participant),
                code="not_participant",
                http_status=403,
            )
        _check_active(participant, current, None)
        waiting = selectors.guardian_choices(participant)
        if current is None or waiting is None:
            raise ConsentError(
                _(
                    "There are no choices made by a guardian for you to confirm: your consent "
                    "is already your own."
                )
                if participant.of_age
                else _(
                    "You can confirm the choices your guardian made once you come of age; "
                    "until then your guardian decides with you."
                ),
                code="nothing_to_confirm",
                http_status=409,
            )
        choices = _choices_in_force(version)
        if version.document_id != current.version.document_id:
            raise ConsentError(
                _("This is not the consent form your guardian signed for you."), code="invalid"
            )
        clean = _check_answers(choices, answers)
        signature = _check_signature(signature, participant.user)
        return _append(
            participant=participant,
            current=current,
            version=version,
            kind=RecordKind.CONFIRM,
            answers=clean,
            status=ConsentStatus.ACTIVE,
            withdrawal_level="",
            actor=actor,
            proxy=None,
            channel=channel,
            signature=signature,
            receipt=receipt,
            choices=choices,
            audit_extra={
                "guardian_record": waiting.record.sequence,
                "kept": sorted(k for k, a in clean.items() if waiting.answers.get(k) == a),
                "changed": sorted(k for k, a in clean.items() if waiting.answers.get(k) != a),
            },
        )


# --- checks before signing, receipts after -----------------------------------


def consent_answers_check(*, version: ConsentVersion, answers: Mapping[str, str]) -> dict[str, str]:
    """The checks consent_record makes on answers, for a form step that writes nothing yet."""
    return _check_answers(list(version.choices.all()), answers)


def consent_receipt_queue(*, record: ConsentRecord) -> None:
    """Make and email the record's receipt from a worker once the record is committed."""
    transaction.on_commit(lambda: generate_receipt_task.delay(record.pk))


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
            action=ConsentActions.RECEIPT,
            target=receipt,
            after={"record": record.pk, "sha256": receipt.sha256},
        )
    return receipt


def _receipt_emails(receipt: ConsentReceipt, record: ConsentRecord) -> list[EmailMessage]:
    """One email to the participant and one to the guardian who signed, if any, each in
    its reader's language; both carry the same PDF (in the signer's language)."""
    link = settings.SITE_URL + reverse("consent:receipt", kwargs={"record_id": record.pk})
    readers = [(record.participant.user, participant_language(record.participant), False)]
    if record.proxy is not None:
        readers.append((record.proxy, person_language(record.proxy), True))
    messages = []
    for reader, language, for_guardian in readers:
        with translation.override(language):
            text = render_to_string(
                "consent/email/receipt.txt",
                {
                    "record": record,
                    "receipt": receipt,
                    "link": link,
                    "recipient": reader,
                    "for_guardian": for_guardian,
                },
            )
        subject, _sep, body = text.strip().partition("\n")
        message = EmailMessage(subject.strip(), body.strip(), to=[reader.email])
        message.attach(receipt_filename(record), bytes(receipt.pdf), "application/pdf")
        messages.append(message)
    return messages


def consent_receipt_deliver(*, record: ConsentRecord) -> ConsentReceipt:
    """Make the receipt if needed, then email it once (to the participant and any proxy)."""
    receipt = consent_receipt_create(actor=None, record=record)
    record = ConsentRecord.objects.select_related(
        "participant__user", "proxy", "version__document"
    ).get(pk=record.pk)
    with transaction.atomic(durable=True):
        receipt = ConsentReceipt.objects.select_for_update().get(pk=receipt.pk)
        if receipt.emailed_at is not None:
            return receipt
        # Sent before emailed_at is saved: a crash in between sends it twice, never not at all.
        for message in _receipt_emails(receipt, record):
            message.send()
        receipt.emailed_at = timezone.now()
        receipt.save(update_fields=["emailed_at"])
        audit_log(
            actor=None,
            action=ConsentActions.RECEIPT_EMAIL,
            target=receipt,
            after={"record": record.pk},
        )
    return receipt
