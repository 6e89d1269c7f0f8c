"""The consent app's HTML pages: the participant's (and proxy's), their "ask me each time"
questions, and the steward's."""

from __future__ import annotations

from consent.views.participant import (
    choice_change,
    handover,
    home,
    journey_choices,
    journey_quiz,
    journey_review,
    journey_section,
    journey_start,
    proxy_home,
    receipt,
    receipt_pdf,
    withdraw,
    withdraw_confirm,
)
from consent.views.questions import question_answer, questions
from consent.views.steward import (
    document_create,
    document_list,
    overview,
    participant_proxy_link,
    participants,
    participants_import,
    version_create,
    version_detail,
    version_publish,
)

__all__ = [
    "choice_change",
    "document_create",
    "document_list",
    "handover",
    "home",
    "journey_choices",
    "journey_quiz",
    "journey_review",
    "journey_section",
    "journey_start",
    "overview",
    "participant_proxy_link",
    "participants",
    "participants_import",
    "proxy_home",
    "question_answer",
    "questions",
    "receipt",
    "receipt_pdf",
    "version_create",
    "version_detail",
    "version_publish",
    "withdraw",
    "withdraw_confirm",
]
