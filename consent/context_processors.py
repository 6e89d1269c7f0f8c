"""What every consent page knows: the child a guardian is acting for, so that each page
addresses the guardian as a guardian ("Fay's choices"), never as the participant."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from consent import selectors
from consent.views.common import ACTING_FOR, acting_proxy


def acting(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or match.app_name != "consent" or user is None or not user.is_authenticated:
        return {}
    if acting_proxy(request) is None:
        return {}
    return {"acting_for": selectors.proxied_participant(user, request.session.get(ACTING_FOR))}
