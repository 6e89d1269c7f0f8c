"""The consent services' audit action names. They are stored in the ledger, so a name is never
changed; `grep` for a constant finds every writer of its event."""

from __future__ import annotations

from consent.models import RecordKind


class ConsentActions:
    DOCUMENT_CREATE = "consent_document.create"
    VERSION_CREATE = "consent_version.create"
    VERSION_SUSPEND_PREVIOUS = "consent_version.suspend_previous"
    VERSION_NOTIFY_RECONSENT = "consent_version.notify_reconsent"
    PARTICIPANT_ENROL = "participant.enrol"
    PARTICIPANT_IMPORT = "participant.import"
    PROXY_LINK = "proxy.link"
    PROXY_END = "proxy.end"
    QUESTION_RAISE = "consent_question.raise"
    RECEIPT = "consent.receipt"
    RECEIPT_EMAIL = "consent.receipt_email"


# Each consent record's audit entry is named after its kind.
RECORD_ACTIONS: dict[str, str] = {
    RecordKind.CONSENT: "consent.consent",
    RecordKind.CHANGE: "consent.change",
    RecordKind.RECONSENT: "consent.reconsent",
    RecordKind.WITHDRAWAL: "consent.withdrawal",
    RecordKind.CONFIRM: "consent.confirm",
}
