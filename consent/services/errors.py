"""The consent app's refusals (subclasses of the portal's one error type)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.exceptions import PortalError, StaleStateError

if TYPE_CHECKING:
    from consent.models import ConsentChoice


class ConsentError(PortalError):
    code = "consent_error"


class StaleConsentError(StaleStateError):
    """The form was loaded before someone else changed this participant's consent."""

    code = "stale_consent"


class MissingAnswersError(ConsentError):
    """Questions left unanswered, named in the page's language (never by their keys, which
    API clients find under `errors.answers`)."""

    code = "missing_answer"

    def __init__(self, choices: Sequence[ConsentChoice]):
        questions = ", ".join(f"“{choice.question}”" for choice in choices)
        super().__init__(
            ngettext(
                "Please answer this question: %(questions)s.",
                "Please answer every question. Not answered: %(questions)s.",
                len(choices),
            )
            % {"questions": questions}
        )
        self.missing = tuple(choice.key for choice in choices)
        self.errors = {
            "answers": {
                choice.key: [_("Not answered: “%(question)s”.") % {"question": choice.question}]
                for choice in choices
            }
        }
