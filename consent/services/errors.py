"""The consent app's refusals (subclasses of the portal's one error type)."""

from __future__ import annotations

from portal.exceptions import PortalError, StaleStateError


class ConsentError(PortalError):
    code = "consent_error"


class StaleConsentError(StaleStateError):
    """The form was loaded before someone else changed this participant's consent."""

    code = "stale_consent"
