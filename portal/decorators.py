from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import Role, User

View = Callable[..., HttpResponse]

ROLE_PLURALS = {
    Role.PARTICIPANT: gettext_lazy("participants"),
    Role.RESEARCHER: gettext_lazy("researchers"),
    Role.DAC_MEMBER: gettext_lazy("DAC members"),
    Role.DAC_CHAIR: gettext_lazy("DAC chairs"),
    Role.STEWARD: gettext_lazy("data stewards"),
    Role.PROXY: gettext_lazy("proxies"),
}


def for_whom(*roles: Role) -> str:
    """'This page is for participants or proxies.', in the reader's language."""
    names = [str(ROLE_PLURALS[Role(r)]) for r in roles]
    whom = names[0]
    for name in names[1:]:
        whom = _("%(some)s or %(others)s") % {"some": whom, "others": name}
    return _("This page is for %(whom)s.") % {"whom": whom}


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in person of a view behind `role_required` or `login_required`, typed as
    such; anywhere else a request without one is refused (403), never an AttributeError."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied(_("Sign in first."))
    return user


def role_required(*roles: Role) -> Callable[[View], View]:
    """Signed-in users holding any of the given roles; others get the 403 page naming who may."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not signed_in_user(request).has_role(*roles):
                raise PermissionDenied(for_whom(*roles))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
