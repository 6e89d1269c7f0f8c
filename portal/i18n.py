"""The page language: the switch on every page, and a signed-in person's own language.

Django's LocaleMiddleware picks the language from the switch's cookie, else the browser's
Accept-Language. A signed-in person's choice is kept on their account (`User.language`) and
wins over both, so that the language follows them to another browser, and their emails
and receipts are written in it too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from portal.models import User


def offered(code: str | None) -> bool:
    return bool(code) and code in dict(settings.LANGUAGES)


def language_of(user: User | None) -> str:
    """The language to write to this person in: their own choice, else the portal's."""
    code = getattr(user, "language", "") or ""
    return code if offered(code) else settings.LANGUAGE_CODE


class UserLanguageMiddleware:
    """After authentication: a signed-in person's own language replaces the cookie's, and
    the cookie follows it (it is what the sign-in page and pages after sign-out use)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        own = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if offered(own):
            translation.activate(own)
            request.LANGUAGE_CODE = own
        response = self.get_response(request)
        # Read again: the view may have signed the person in (or out).
        user = getattr(request, "user", None)
        own = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if offered(own) and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != own:
            _set_cookie(response, own)
        return response


def _set_cookie(response: HttpResponse, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type] # a setting
    )


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (a safe `next`, the cookie), refusing a language that is not
    offered, and remembering the choice on the signed-in person's account."""
    from portal.services import user_language_set

    code = request.POST.get("language", "")
    if not offered(code):
        names = ", ".join(str(name) for _code, name in settings.LANGUAGES)
        context = {
            "title": _("This language is not offered"),
            "detail": _("Choose one of: %(names)s.") % {"names": names},
        }
        return render(request, "error.html", context, status=400)
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=code)  # type: ignore[arg-type]
    translation.activate(code)
    return set_language(request)
