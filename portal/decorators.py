from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from portal.models import Role, User

View = Callable[..., HttpResponse]

ROLE_PLURALS = {
    Role.PARTICIPANT: "participants",
    Role.RESEARCHER: "researchers",
    Role.DAC_MEMBER: "DAC members",
    Role.DAC_CHAIR: "DAC chairs",
    Role.STEWARD: "data stewards",
    Role.PROXY: "proxies",
}


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in person of a view behind `role_required` or `login_required`, typed as
    such; anywhere else a request without one is refused (403), never an AttributeError."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


def role_required(*roles: Role) -> Callable[[View], View]:
    """Signed-in users holding any of the given roles; others get the 403 page naming who may."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not signed_in_user(request).has_role(*roles):
                names = " or ".join(ROLE_PLURALS[Role(r)] for r in roles)
                raise PermissionDenied(f"This page is for {names}.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
