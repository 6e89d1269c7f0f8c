"""Time-driven and ending work: a chair's revocation, the daily expiry and the reminders
(before grants end, and to members whose vote is awaited)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone

from access import permissions
from access.models import AccessRequest, CommitteeReview, Grant, RequestStatus, ReviewDecision
from access.notifications import notify
from access.selectors.agreements import signatories
from access.services.base import AccessActions, AccessConflict, AccessError, locked, move
from datasets.models import Committee
from portal.audit import audit_log
from portal.exceptions import NotFoundError, PermissionError_
from portal.models import User

# Days before the grants end on which the applicants are reminded.
REMINDER_DAYS = (30, 7)
# Members who have not voted are reminded a week after submission, then weekly.
REVIEW_REMINDER_DAYS = 7


def grants_revoke(*, actor: User, request: AccessRequest, committee: Committee, reason: str) -> int:
    """A chair ends, at once, every grant their committee gave on this request.

    The request becomes revoked when no grant of it is left active. Returns how many
    grants were revoked; the researchers see the reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise AccessError("Give the reason for revoking access; the researchers will see it.")
    with transaction.atomic(durable=True):
        request = locked(request)
        if not permissions.can_view_request(actor, request):
            raise NotFoundError("No such access request.")
        if not permissions.is_chair(actor, committee):
            raise PermissionError_(f"Only a chair of the {committee.name} revokes its grants.")
        if request.status != RequestStatus.APPROVED:
            raise AccessConflict(
                f"The request is {request.get_status_display().lower()}: only an approved "
                "request's access can be revoked."
            )
        now = timezone.now()
        today = timezone.localdate()
        active = Grant.objects.filter(
            request=request,
            review__committee=committee,
            revoked_at__isnull=True,
            ends_on__gte=today,
        )
        revoked = active.update(revoked_at=now, revoked_by=actor, revoke_reason=reason)
        if not revoked:
            raise AccessConflict(f"The {committee.name} has no active grant on this request.")
        audit_log(
            actor=actor,
            action=AccessActions.GRANT_REVOKE,
            target=request,
            after={"committee": committee.pk, "grants": revoked, "reason": reason},
        )
        still_active = Grant.objects.filter(
            request=request, revoked_at__isnull=True, ends_on__gte=today
        ).exists()
        if not still_active:
            move(request, RequestStatus.REVOKED, actor=actor, comment=reason, committee=committee)
        notify(
            users=signatories(request),
            message=f"Access under {request.accession} was revoked by the {committee.name}: "
            f"{reason}",
            url=reverse("access:request", kwargs={"accession": request.accession}),
            template="access/email/notice.txt",
        )
    return revoked


def access_requests_expire(*, today: dt.date | None = None) -> dict[str, int]:
    """Daily: approved requests whose grants have all ended become expired, and applicants
    are reminded 30 and 7 days before the end. Safe to rerun: nothing happens twice.

    Grants stop at their end whether or not this ran: every use checks the date.
    """
    today = today or timezone.localdate()
    expired = reminded = 0
    approved = AccessRequest.objects.filter(status=RequestStatus.APPROVED).annotate(
        last_day=Max("grants__ends_on", filter=Q(grants__revoked_at__isnull=True))
    )
    for request in approved.filter(Q(last_day__lt=today) | Q(last_day__isnull=True)):
        with transaction.atomic(durable=True):
            current = locked(request)
            if current.status != RequestStatus.APPROVED:
                continue
            move(
                current,
                RequestStatus.EXPIRED,
                actor=None,
                comment=f"Access ended on {request.last_day}",
            )
            notify(
                users=signatories(current),
                message=f"Access under {current.accession} has ended. You can apply to renew it.",
                url=reverse("access:request", kwargs={"accession": current.accession}),
                template="access/email/notice.txt",
            )
            expired += 1
    for days in REMINDER_DAYS:
        due = approved.filter(last_day__gte=today, last_day__lte=today + dt.timedelta(days=days))
        for request in due:
            with transaction.atomic(durable=True):
                current = locked(request)
                if (
                    str(days) in current.expiry_reminders
                    or current.status != RequestStatus.APPROVED
                ):
                    continue
                current.expiry_reminders = [*current.expiry_reminders, str(days)]
                current.save(update_fields=["expiry_reminders"])
                notify(
                    users=signatories(current),
                    message=f"Access under {current.accession} ends on {request.last_day}. "
                    "Renew the request to keep using the data.",
                    url=reverse("access:request", kwargs={"accession": current.accession}),
                    template="access/email/notice.txt",
                )
                reminded += 1
    return {"expired": expired, "reminded": reminded}


def vote_reminders_send(*, today: dt.date | None = None) -> int:
    """Weekly, while a review waits: remind the members who may vote and have not.

    A review is due a week after the request's submission and then every week; the day
    sent is kept on the review, so running twice in a day (or week) sends nothing more.
    Returns how many members were reminded.
    """
    today = today or timezone.localdate()
    week = dt.timedelta(days=REVIEW_REMINDER_DAYS)
    due = (
        CommitteeReview.objects.filter(
            decision=ReviewDecision.PENDING,
            review_round=F("request__review_round"),
            request__status=RequestStatus.UNDER_REVIEW,
            request__submitted_at__date__lte=today - week,
        )
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lte=today - week))
        .select_related("committee", "request")
    )
    reminded = 0
    for review in due:
        with transaction.atomic(durable=True):
            claimed = CommitteeReview.objects.filter(
                Q(reminded_on__isnull=True) | Q(reminded_on__lte=today - week), pk=review.pk
            ).update(reminded_on=today)
            if not claimed:
                continue
            members = list(review.committee.members.filter(is_active=True))
            recused = permissions.recusals(review, members)
            voted = set(review.votes.values_list("member_id", flat=True))
            waiting = [m for m in members if m.pk not in recused and m.pk not in voted]
            request = review.request
            reminded += notify(
                users=waiting,
                message=f"Your vote is awaited on {request.accession} {request.title} "
                f"({review.committee.name}).",
                url=reverse("access:review", kwargs={"accession": request.accession}),
                template="access/email/notice.txt",
            )
    return reminded
