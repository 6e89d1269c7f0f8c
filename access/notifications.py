"""In-app notices and emails about requests, sent after the transaction commits.

Emails are plain text in the recipient's language (the one they chose on the portal, else
their participant language, else the portal's), and link back to the page they are about.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import translation

from consent.languages import person_language
from portal.models import Notification, User
from portal.services import email_queue


def _language(user: User) -> str:
    return person_language(user)


def notify(
    *,
    users: Iterable[User],
    message: str,
    url: str,
    template: str = "",
    context: dict[str, Any] | None = None,
) -> int:
    """A notice and (with a template) an email to each distinct user; call inside the
    service's transaction."""
    sent = 0
    seen: set[int] = set()
    for user in users:
        if user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        Notification.objects.create(user=user, message=message[:500], url=url)
        if not template:
            sent += 1
            continue
        with translation.override(_language(user)):
            email_queue(
                to=user.email,
                template=template,
                context={"user": user, "message": message, "path": url, **(context or {})},
            )
        sent += 1
    return sent


def notify_email_only(*, to: str, template: str, context: dict[str, Any]) -> None:
    """An email to someone who may not have an account yet (a co-applicant invitation)."""
    email_queue(to=to, template=template, context=context)
