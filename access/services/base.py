"""What every access service shares: errors, audit names, the request lock and transition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils import timezone

from access import permissions
from access.models import AccessRequest, EventKind, RequestEvent, RequestStatus
from access.transitions import REQUEST_TRANSITIONS
from datasets.models import Committee
from portal.exceptions import NotFoundError, PermissionError_, PortalError, StaleStateError
from portal.models import User
from portal.transitions import transition


class AccessError(PortalError):
    code = "access_error"


class AccessConflict(AccessError):
    """The request is not in a state that allows this (HTTP 409)."""

    code = "conflict"
    http_status = 409


class AccessProblems(AccessError):
    """Several precise problems at once, by field; nothing was changed."""

    code = "invalid"

    def __init__(self, errors: Mapping[str, Sequence[str]], *, code: str | None = None) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items() if messages}
        problems = [m for messages in self.errors.values() for m in messages]
        self.problems = tuple(problems)
        super().__init__(" ".join(problems), code=code)


class AccessActions:
    """Audit action names: grep finds every writer of an event."""

    CREATE = "access_request.create"
    UPDATE = "access_request.update"
    ETHICS_UPLOAD = "access_request.ethics_upload"
    RENEW = "access_request.renew"
    COAPPLICANT_INVITE = "coapplicant.invite"
    COAPPLICANT_ACCEPT = "coapplicant.accept"
    COAPPLICANT_DECLINE = "coapplicant.decline"
    COAPPLICANT_CANCEL = "coapplicant.cancel"
    AGREEMENT_PUBLISH = "agreement.publish"
    AGREEMENT_ACCEPT = "agreement.accept"
    VOTE = "vote.cast"
    DECIDE = "committee_review.decide"
    GRANT_CREATE = "grant.create"
    GRANT_REVOKE = "grant.revoke"
    NOTIFICATIONS_READ = "notification.read"


def locked(request: AccessRequest) -> AccessRequest:
    """The request, locked until the service's transaction ends: writers take turns."""
    return AccessRequest.objects.select_for_update().select_related("applicant").get(pk=request.pk)


def event(
    request: AccessRequest,
    kind: EventKind,
    *,
    actor: User | None,
    comment: str = "",
    committee: Committee | None = None,
    internal: bool = False,
) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        committee=committee,
        comment=comment,
        internal=internal,
    )


def move(
    request: AccessRequest,
    to: RequestStatus,
    *,
    actor: User | None,
    comment: str = "",
    committee: Committee | None = None,
    extra: Mapping[str, object] | None = None,
) -> None:
    """The table-checked, conditional status change, with its timeline event."""
    try:
        transition(
            request,
            to,
            table=REQUEST_TRANSITIONS,
            actor=actor,
            reason=comment,
            extra={"updated_at": timezone.now(), **(extra or {})},
        )
    except StaleStateError as exc:
        raise StaleStateError("This request changed since you loaded it. Reload the page.") from exc
    event(request, EventKind(to.value), actor=actor, comment=comment, committee=committee)


def require_applicant(actor: User, request: AccessRequest, doing: str) -> None:
    if not permissions.can_view_request(actor, request):
        raise NotFoundError("No such access request.")
    if not permissions.is_applicant(actor, request):
        raise PermissionError_(f"Only the applicant can {doing}.")


def require_editable(request: AccessRequest) -> None:
    if not request.is_editable:
        raise AccessConflict(
            f"This request is {request.get_status_display().lower()}: it can be changed only "
            "while it is a draft or returned for changes."
        )
