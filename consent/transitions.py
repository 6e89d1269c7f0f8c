from __future__ import annotations

from consent.models import ConsentStatus, QuestionStatus, VersionStatus

VERSION_TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    VersionStatus.DRAFT: frozenset({VersionStatus.PUBLISHED}),
    VersionStatus.PUBLISHED: frozenset({VersionStatus.SUPERSEDED}),
    VersionStatus.SUPERSEDED: frozenset(),
}

# A participant's consent status moves only towards more withdrawal; each move is a record.
CONSENT_TRANSITIONS: dict[ConsentStatus, frozenset[ConsentStatus]] = {
    ConsentStatus.ACTIVE: frozenset(
        {ConsentStatus.NO_CONTACT, ConsentStatus.NO_ACCESS, ConsentStatus.NO_USE}
    ),
    ConsentStatus.NO_CONTACT: frozenset({ConsentStatus.NO_ACCESS, ConsentStatus.NO_USE}),
    ConsentStatus.NO_ACCESS: frozenset({ConsentStatus.NO_USE}),
    ConsentStatus.NO_USE: frozenset(),
}

# A question is answered once, by the participant or their proxy, or withdrawn by the portal.
QUESTION_TRANSITIONS: dict[QuestionStatus, frozenset[QuestionStatus]] = {
    QuestionStatus.PENDING: frozenset({QuestionStatus.ANSWERED, QuestionStatus.WITHDRAWN}),
    QuestionStatus.ANSWERED: frozenset(),
    QuestionStatus.WITHDRAWN: frozenset(),
}
