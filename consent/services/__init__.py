"""Writes of the consent app, one module per subject; every name is importable from here.

participants: enrolment and proxies; documents: documents, versions, publishing and
re-consent emails; records: consent, change, withdrawal and receipts; imports: enrolment
from CSV; requests: "ask me each time" questions.
"""

from __future__ import annotations

from consent.services.documents import (
    consent_document_create,
    consent_version_create,
    consent_version_publish,
    reconsent_notify_batch,
)
from consent.services.errors import ConsentError, StaleConsentError
from consent.services.imports import (
    IMPORT_MAX_BYTES,
    IMPORT_MAX_ROWS,
    ImportCheck,
    ImportProblem,
    ImportResult,
    ImportRow,
    ParticipantImportError,
    import_languages,
    participants_import,
    participants_import_check,
)
from consent.services.participants import (
    check_proxy_authority,
    majority_date,
    participant_enrol,
    proxy_ended_message,
    proxy_link,
    proxy_majority_handover,
)
from consent.services.records import (
    consent_answers_check,
    consent_confirm,
    consent_receipt_create,
    consent_receipt_deliver,
    consent_receipt_queue,
    consent_record,
    consent_withdraw,
)
from consent.services.requests import (
    QuestionClosedError,
    consent_question_answer,
    consent_question_raise,
    consent_question_withdraw,
    consent_questions_withdraw_obsolete,
)

__all__ = [
    "IMPORT_MAX_BYTES",
    "IMPORT_MAX_ROWS",
    "ConsentError",
    "ImportCheck",
    "ImportProblem",
    "ImportResult",
    "ImportRow",
    "ParticipantImportError",
    "QuestionClosedError",
    "StaleConsentError",
    "check_proxy_authority",
    "consent_answers_check",
    "consent_confirm",
    "consent_document_create",
    "consent_question_answer",
    "consent_question_raise",
    "consent_question_withdraw",
    "consent_questions_withdraw_obsolete",
    "consent_receipt_create",
    "consent_receipt_deliver",
    "consent_receipt_queue",
    "consent_record",
    "consent_version_create",
    "consent_version_publish",
    "consent_withdraw",
    "import_languages",
    "majority_date",
    "participant_enrol",
    "participants_import",
    "participants_import_check",
    "proxy_ended_message",
    "proxy_link",
    "proxy_majority_handover",
    "reconsent_notify_batch",
]
