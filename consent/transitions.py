from __future__ import annotations

from consent.models import ConsentStatus, QuestionStatus, VersionStatus, WithdrawalLevel
from portal.transitions import StateTable

VERSION_TRANSITIONS = StateTable(
    {
        VersionStatus.DRAFT: frozenset({VersionStatus.PUBLISHED}),
        VersionStatus.PUBLISHED: frozenset({VersionStatus.SUPERSEDED}),
        VersionStatus.SUPERSEDED: frozenset(),
    },
    actions={
        VersionStatus.PUBLISHED: "consentversion.published",
        VersionStatus.SUPERSEDED: "consentversion.superseded",
    },
)

# A participant's consent status moves only towards more withdrawal; each move is a record.
CONSENT_TRANSITIONS: dict[ConsentStatus, frozenset[ConsentStatus]] = {
    ConsentStatus.ACTIVE: frozenset(
        {ConsentStatus.NO_CONTACT, ConsentStatus.NO_ACCESS, ConsentStatus.NO_USE}
    ),
    ConsentStatus.NO_CONTACT: frozenset({ConsentStatus.NO_ACCESS, ConsentStatus.NO_USE}),
    ConsentStatus.NO_ACCESS: frozenset({ConsentStatus.NO_USE}),
    ConsentStatus.NO_USE: frozenset(),
}


def withdrawal_allowed(status: str, level: str) -> bool:
    """Whether a consent in `status` may be withdrawn at `level` (each level is the status it
    leads to): the one check the service, the withdrawal page and the dashboard all ask."""
    return level in CONSENT_TRANSITIONS.get(ConsentStatus(status), frozenset())


def withdrawal_levels_open(status: str) -> list[WithdrawalLevel]:
    """The levels a consent in `status` may still be withdrawn at, least first."""
    return [level for level in WithdrawalLevel if withdrawal_allowed(status, level)]


# A question is answered once, by the participant or their proxy, or withdrawn by the portal.
QUESTION_TRANSITIONS = StateTable(
    {
        QuestionStatus.PENDING: frozenset({QuestionStatus.ANSWERED, QuestionStatus.WITHDRAWN}),
        QuestionStatus.ANSWERED: frozenset(),
        QuestionStatus.WITHDRAWN: frozenset(),
    },
    actions={
        QuestionStatus.ANSWERED: "consentquestion.answered",
        QuestionStatus.WITHDRAWN: "consentquestion.withdrawn",
    },
)
