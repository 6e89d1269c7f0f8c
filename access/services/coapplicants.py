"""Co-applicants (invited by email, must accept) and data-access agreements."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from access import permissions
from access.models import (
    AccessRequest,
    AgreementAcceptance,
    CoApplicant,
    DataAccessAgreement,
    EventKind,
    InvitationStatus,
)
from access.notifications import notify, notify_email_only
from access.selectors.agreements import current_agreements, has_accepted_all
from access.services.base import (
    AccessActions,
    AccessConflict,
    AccessError,
    event,
    locked,
    require_applicant,
    require_editable,
)
from datasets.models import Committee
from portal.audit import audit_log
from portal.exceptions import InvalidLinkError, NotFoundError, PermissionError_
from portal.models import Role, User, normalize_email

_INVITATION_SALT = "custodian.access.coapplicant"


def invitation_token(invitation: CoApplicant) -> str:
    """Identifies the invitation; its expiry and state live in the database."""
    return signing.Signer(salt=_INVITATION_SALT).sign(str(invitation.pk))


def invitation_from_token(token: str) -> CoApplicant:
    try:
        pk = int(signing.Signer(salt=_INVITATION_SALT).unsign(token))
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidLinkError(
            "This invitation link is not valid. Check that you copied the whole link.",
            code="link_invalid",
        ) from exc
    invitation = CoApplicant.objects.select_related("request__applicant").filter(pk=pk).first()
    if invitation is None:
        raise NotFoundError("This invitation no longer exists.")
    return invitation


def coapplicant_invite(
    *, actor: User, request: AccessRequest, email: str, full_name: str = ""
) -> CoApplicant:
    """Invite a co-applicant by email; the link expires after the configured days."""
    email = normalize_email(email or "")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccessError(f"“{email}” is not an email address.", code="invalid") from exc
    with transaction.atomic(durable=True):
        request = locked(request)
        require_applicant(actor, request, "invite co-applicants")
        require_editable(request)
        if email == request.applicant.email:
            raise AccessError("You are the applicant: invite someone else.", code="invalid")
        expires = timezone.now() + dt.timedelta(days=settings.CUSTODIAN_COAPPLICANT_INVITATION_DAYS)
        invitation = CoApplicant.objects.filter(request=request, email=email).first()
        if (
            invitation is not None
            and invitation.status
            in {
                InvitationStatus.PENDING,
                InvitationStatus.ACCEPTED,
            }
            and not invitation.is_expired
        ):
            raise AccessConflict(
                f"{email} is already invited ({invitation.get_status_display().lower()})."
            )
        try:
            if invitation is None:
                invitation = CoApplicant.objects.create(
                    request=request, email=email, full_name=full_name.strip(), expires_at=expires
                )
            else:  # a declined, cancelled or expired invitation is sent again
                invitation.status = InvitationStatus.PENDING
                invitation.full_name = full_name.strip() or invitation.full_name
                invitation.user = None
                invitation.invited_at = timezone.now()
                invitation.expires_at = expires
                invitation.answered_at = None
                invitation.save()
        except IntegrityError as exc:
            raise AccessConflict(f"{email} is already invited.") from exc
        event(request, EventKind.COAPPLICANT_INVITED, actor=actor, comment=email)
        audit_log(
            actor=actor,
            action=AccessActions.COAPPLICANT_INVITE,
            target=invitation,
            after={"request": request.accession, "email": email},
        )
        path = reverse("access:invitation", kwargs={"token": invitation_token(invitation)})
        notify_email_only(
            to=email,
            template="access/email/coapplicant_invitation.txt",
            context={"invitation": invitation, "request": request, "path": path},
        )
        existing = User.objects.filter(email=email).first()
        if existing is not None:  # in the portal too; the invitation email is already sent
            notify(
                users=[existing],
                message=f"{request.applicant.full_name} invited you to co-apply: {request.title}",
                url=path,
            )
    return invitation


def coapplicant_answer(
    *, actor: User, invitation: CoApplicant, accept: bool, accept_agreements: bool = False
) -> CoApplicant:
    """The invited person accepts (with the data-access agreements) or declines, once."""
    with transaction.atomic(durable=True):
        request = locked(invitation.request)
        invitation = CoApplicant.objects.select_for_update().get(pk=invitation.pk)
        if normalize_email(actor.email) != invitation.email:
            raise PermissionError_(
                f"This invitation was sent to {invitation.email}. Sign in with that address."
            )
        if invitation.status != InvitationStatus.PENDING:
            raise AccessConflict(
                f"This invitation was already answered or withdrawn "
                f"({invitation.get_status_display().lower()})."
            )
        if invitation.is_expired:
            raise AccessConflict(
                "This invitation has expired. Ask the applicant to invite you again."
            )
        if not request.is_editable:
            raise AccessConflict(
                f"The request is {request.get_status_display().lower()}: co-applicants can "
                "join only while it is a draft or returned for changes."
            )
        agreements = current_agreements(request)
        if accept and agreements and not accept_agreements:
            names = ", ".join(a.committee.name for a in agreements)
            raise AccessError(
                f"To join, accept the data-access agreement of: {names}.", code="agreement"
            )
        invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
        invitation.answered_at = timezone.now()
        invitation.user = actor if accept else None
        invitation.save(update_fields=["status", "answered_at", "user"])
        if accept:
            permissions.grant_coapplicant(actor, request)
            _accept(request, actor, agreements)
        event(
            request,
            EventKind.COAPPLICANT_ANSWERED,
            actor=actor,
            comment=f"{invitation.email} {'accepted' if accept else 'declined'}",
        )
        audit_log(
            actor=actor,
            action=AccessActions.COAPPLICANT_ACCEPT
            if accept
            else AccessActions.COAPPLICANT_DECLINE,
            target=invitation,
            after={"request": request.accession},
        )
        notify(
            users=[request.applicant],
            message=f"{invitation.email} {'accepted' if accept else 'declined'} your invitation "
            f"to {request.accession}.",
            url=reverse("access:request", kwargs={"accession": request.accession}),
            template="access/email/notice.txt",
        )
    return invitation


def coapplicant_cancel(*, actor: User, invitation: CoApplicant) -> CoApplicant:
    with transaction.atomic(durable=True):
        request = locked(invitation.request)
        require_applicant(actor, request, "remove co-applicants")
        require_editable(request)
        invitation = CoApplicant.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status in {InvitationStatus.CANCELLED, InvitationStatus.DECLINED}:
            raise AccessConflict(f"The invitation to {invitation.email} is no longer open.")
        if invitation.user is not None:
            permissions.revoke_coapplicant(invitation.user, request)
        invitation.status = InvitationStatus.CANCELLED
        invitation.save(update_fields=["status"])
        event(
            request,
            EventKind.COAPPLICANT_ANSWERED,
            actor=actor,
            comment=f"{invitation.email} removed by the applicant",
        )
        audit_log(actor=actor, action=AccessActions.COAPPLICANT_CANCEL, target=invitation)
    return invitation


def _accept(request: AccessRequest, person: User, agreements: list[DataAccessAgreement]) -> int:
    created = 0
    for agreement in agreements:
        _, new = AgreementAcceptance.objects.get_or_create(
            request=request, agreement=agreement, user=person
        )
        if new:
            created += 1
            event(
                request,
                EventKind.AGREEMENT_ACCEPTED,
                actor=person,
                comment=f"{agreement.committee.name} agreement v{agreement.version}",
            )
            audit_log(
                actor=person,
                action=AccessActions.AGREEMENT_ACCEPT,
                target=request,
                after={"agreement": agreement.pk, "version": agreement.version},
            )
    return created


def agreements_accept(*, actor: User, request: AccessRequest) -> int:
    """The applicant or an accepted co-applicant accepts every agreement now in force."""
    with transaction.atomic(durable=True):
        request = locked(request)
        if not permissions.can_view_request(actor, request):
            raise NotFoundError("No such access request.")
        is_signatory = (
            permissions.is_applicant(actor, request)
            or CoApplicant.objects.filter(
                request=request, user=actor, status=InvitationStatus.ACCEPTED
            ).exists()
        )
        if not is_signatory:
            raise PermissionError_("Only the applicant and co-applicants accept the agreement.")
        require_editable(request)
        agreements = current_agreements(request)
        if not agreements:
            raise AccessConflict("The committees of these datasets have no agreement to accept.")
        if has_accepted_all(request, actor):
            raise AccessConflict("You have already accepted every agreement of this request.")
        return _accept(request, actor, agreements)


def agreement_publish(*, actor: User, committee: Committee, text: str) -> DataAccessAgreement:
    """A new version of a committee's agreement; requests accept the newest one."""
    if not actor.has_role(Role.STEWARD):
        raise PermissionError_("Only data stewards publish data-access agreements.")
    text = (text or "").strip()
    if len(text) < 20:
        raise AccessError("Write the agreement's text (at least 20 characters).", code="invalid")
    if committee.is_community:
        raise AccessError(
            "Agreements belong to data-access committees; a community committee has none.",
            code="invalid",
        )
    with transaction.atomic(durable=True):
        Committee.objects.select_for_update().get(pk=committee.pk)
        top = DataAccessAgreement.objects.filter(committee=committee).aggregate(v=Max("version"))
        agreement = DataAccessAgreement.objects.create(
            committee=committee, version=(top["v"] or 0) + 1, text=text, published_by=actor
        )
        audit_log(
            actor=actor,
            action=AccessActions.AGREEMENT_PUBLISH,
            target=agreement,
            after={"committee": committee.pk, "version": agreement.version},
        )
    return agreement
