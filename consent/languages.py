"""The language to write to someone in (emails, receipts): a code of settings.LANGUAGES."""

from __future__ import annotations

from django.conf import settings

from consent.models import Participant
from portal.models import User


def participant_language(participant: Participant) -> str:
    """The language to write to a participant in: the one they chose on the portal, else
    the language they were enrolled in, where the portal offers it, else the portal's."""
    offered = dict(settings.LANGUAGES)
    for code in (participant.user.language, participant.language):
        if code in offered:
            return code
    return settings.LANGUAGE_CODE


def person_language(user: User) -> str:
    """A person's language: a participant's as above, anyone else's own choice."""
    participant = Participant.objects.filter(user=user).select_related("user").first()
    if participant is not None:
        return participant_language(participant)
    return user.language if user.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
