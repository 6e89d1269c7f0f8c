"""What the consent app's pages share: the signed-in user, the participant acted for,
Markdown rendering of consent text."""

from __future__ import annotations

from typing import Any

import markdown
import nh3
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.safestring import SafeString, mark_safe

from consent import selectors, services
from consent.models import Participant
from portal.decorators import signed_in_user
from portal.models import Role, User

MARKDOWN_TAGS = {
    "p", "br", "ul", "ol", "li", "em", "strong", "a", "blockquote", "code", "pre",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
# The session key of the child a proxy chose on their home page.
ACTING_FOR = "consent.acting_for"


def render_markdown(text: str) -> SafeString:
    """Consent text is Markdown from a steward: rendered, then cleaned of any raw HTML."""
    html = nh3.clean(markdown.markdown(text), tags=MARKDOWN_TAGS)
    return mark_safe(html)  # noqa: S308 - nh3 has removed everything but the tags above


def _acts_as_proxy(request: HttpRequest) -> bool:
    # A guardian who is also a participant acts for a child once they chose one on their
    # proxy home; until then (and without the proxy role) the consent is their own.
    user = signed_in_user(request)
    if not user.has_role(Role.PROXY):
        return False
    return not user.has_role(Role.PARTICIPANT) or ACTING_FOR in request.session


def acting_participant(request: HttpRequest) -> Participant:
    """The participant whose consent this request is about: the user's own, or, for a
    proxy, the child they chose on their home page (while their authority lasts)."""
    user = signed_in_user(request)
    if _acts_as_proxy(request):
        chosen = request.session.get(ACTING_FOR)
        participant = selectors.proxied_participant(user, chosen)
        if participant is None and (ended := selectors.ended_proxy_link(user, chosen)):
            # The child came of age (or the link was ended) while this guardian had them
            # open: say so once, and let the next page be the guardian's own.
            request.session.pop(ACTING_FOR, None)
            raise PermissionDenied(services.proxy_ended_message(ended))
    else:
        participant = selectors.participant_for_user(user)
    if participant is None:
        raise Http404("No participant is linked to this account.")
    return participant


def acting_proxy(request: HttpRequest) -> User | None:
    user = signed_in_user(request)
    return user if _acts_as_proxy(request) else None


def posted(request: HttpRequest) -> Any:
    # Not `request.POST or None`: an empty POST must be refused, not shown as a fresh form.
    return request.POST if request.method == "POST" else None
