"""Writes on participants and their proxies (guardians)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.languages import participant_language, person_language
from consent.models import Participant, ParticipantProxy, majority_date
from consent.services.actions import ConsentActions
from consent.services.errors import ConsentError
from portal.audit import audit_log
from portal.models import Role, User, normalize_email
from portal.services import email_queue, invitation_link, user_invite, user_role_add


def participant_enrol(
    *,
    actor: User,
    study_id: str,
    email: str,
    full_name: str,
    language: str = "en",
    date_of_birth: dt.date | None = None,
    account: User | None = None,
) -> Participant:
    """1. refuse a duplicate study ID; 2. invite an account (or take the given one);
    3. link the participant."""
    study_id = study_id.strip()
    if not study_id:
        raise ConsentError("A study ID is required.", code="invalid")
    with transaction.atomic():
        if Participant.objects.select_for_update().filter(study_id=study_id).exists():
            raise ConsentError(f"The study ID {study_id} is already enrolled.", code="duplicate")
        if account is None:
            user = user_invite(
                actor=actor,
                email=email,
                full_name=full_name,
                role=Role.PARTICIPANT,
                # Their invitation, pages and emails in the language they enrol in.
                language=language if language in dict(settings.LANGUAGES) else "",
            )
        elif not account.has_role(Role.PARTICIPANT):
            # Refused, not promoted: enrolling someone's existing staff or guardian account
            # as a research participant is a decision for the person, not a side effect.
            raise ConsentError(f"{account.email} is not a participant account.", code="invalid")
        elif Participant.objects.filter(user=account).exists():
            raise ConsentError(f"{account.email} is already enrolled.", code="duplicate")
        else:
            user = account
        participant = Participant.objects.create(
            user=user,
            study_id=study_id,
            language=language,
            date_of_birth=date_of_birth,
            enrolled_by=actor,
        )
        audit_log(
            actor=actor,
            action=ConsentActions.PARTICIPANT_ENROL,
            target=participant,
            after={"study_id": study_id, "user_id": user.pk},
        )
    return participant


# --- proxies ----------------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


def proxy_link(
    *,
    actor: User,
    participant: Participant,
    email: str,
    full_name: str,
    relationship: str = "parent or guardian",
) -> ParticipantProxy:
    """A steward links a guardian to a child participant; a new guardian is invited."""
    with transaction.atomic():
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if participant.date_of_birth is None:
            raise ConsentError(
                f"{participant.study_id} has no date of birth: a proxy acts only for a child.",
                code="invalid",
            )
        if majority_date(participant.date_of_birth) <= _today():
            raise ConsentError(
                f"{participant.study_id} is an adult and consents for themselves.", code="invalid"
            )
        proxy = User.objects.filter(email=normalize_email(email)).first()
        if proxy is None:
            # A guardian is first written to in the child's language; they may switch it.
            proxy = user_invite(
                actor=actor,
                email=email,
                full_name=full_name,
                role=Role.PROXY,
                language=participant_language(participant),
                acting_for=participant.user.full_name,
            )
        elif proxy.pk == participant.user_id:
            raise ConsentError(
                f"{proxy.email} is {participant.study_id}'s own account: a child cannot be "
                "their own guardian.",
                code="invalid",
            )
        elif proxy.has_role(Role.PARTICIPANT) and not proxy.has_role(Role.PROXY):
            # A guardian who is also a participant keeps one account and gains the proxy
            # role (their menu then offers both). Staff and researcher accounts are still
            # refused: a guardian signs with a personal account, not a work one.
            proxy = user_role_add(actor=actor, user=proxy, role=Role.PROXY)
        elif not proxy.has_role(Role.PROXY):
            raise ConsentError(f"{proxy.email} is not a proxy account.", code="invalid")
        if participant.proxies.filter(proxy=proxy, ended_at__isnull=True).exists():
            raise ConsentError(
                f"{proxy.email} already acts for {participant.study_id}.", code="duplicate"
            )
        link = ParticipantProxy.objects.create(
            participant=participant, proxy=proxy, relationship=relationship, linked_by=actor
        )
        audit_log(
            actor=actor,
            action=ConsentActions.PROXY_LINK,
            target=link,
            after={"participant": participant.study_id, "proxy": proxy.email},
        )
    return link


COMING_OF_AGE = gettext_noop("the participant came of age")


def proxy_ended_message(link: ParticipantProxy) -> str:
    """What a former guardian is told when they try to act for the young person again."""
    names = {
        "full_name": link.participant.user.full_name,
        "name": link.participant.user.get_short_name(),
        "study_id": link.participant.study_id,
        "date": date_format(timezone.localtime(link.ended_at), "j F Y") if link.ended_at else "",
    }
    if link.end_reason == COMING_OF_AGE:
        return (
            _(
                "Your authority to act for %(full_name)s (study ID %(study_id)s) ended on "
                "%(date)s: %(name)s came of age and now decides about their consent themselves. "
                "Nothing was changed."
            )
            % names
        )
    return _(
        "Your authority to act for %(full_name)s (study ID %(study_id)s) ended on %(date)s "
        "(%(reason)s). Nothing was changed."
    ) % {**names, "reason": _(link.end_reason)}


def check_proxy_authority(participant: Participant, proxy: User) -> None:
    """Refuse a proxy who does not act, or no longer acts, for the participant."""
    link = (
        participant.proxies.filter(proxy=proxy)
        .select_related("participant__user")
        .order_by("-linked_at")
        .first()
    )
    if link is None:
        raise ConsentError(
            _("You do not act for %(study_id)s.") % {"study_id": participant.study_id},
            code="not_proxy",
        )
    if link.ended_at is not None:
        raise ConsentError(proxy_ended_message(link), code="proxy_ended", http_status=403)
    if participant.date_of_birth and majority_date(participant.date_of_birth) <= _today():
        raise ConsentError(
            _(
                "%(name)s has come of age and now decides about their consent themselves: "
                "your authority as their guardian has ended. Nothing was changed."
            )
            % {"name": participant.user.get_short_name()},
            code="proxy_ended",
            http_status=403,
        )


def proxy_majority_handover(*, participant: Participant, today: dt.date | None = None) -> int:
    """End the proxies of a participant who has come of age and invite them to take over.

    The proxy ends entirely: a former guardian keeps the receipts they were emailed but no
    longer sees or acts on the young person's consent, history, receipts or questions (each
    such page answers 403 saying so), and is told by email. The guardian's choices stay in
    force until the young person confirms or changes each one (`consent_confirm`).

    Returns the number of links ended (0 when there was nothing to do: a rerun is a no-op).
    """
    today = today or _today()
    with transaction.atomic(durable=True):
        participant = (
            Participant.objects.select_for_update().select_related("user").get(pk=participant.pk)
        )
        if participant.date_of_birth is None or majority_date(participant.date_of_birth) > today:
            return 0
        links = list(
            participant.proxies.select_for_update(of=("self",))
            .select_related("proxy")
            .filter(ended_at__isnull=True)
        )
        if not links:
            return 0
        now = timezone.now()
        for link in links:
            link.ended_at = now
            link.end_reason = COMING_OF_AGE
            link.save(update_fields=["ended_at", "end_reason"])
            audit_log(
                actor=None,
                action=ConsentActions.PROXY_END,
                target=link,
                after={"reason": link.end_reason},
            )
            email_queue(
                to=link.proxy.email,
                language=person_language(link.proxy),
                template="consent/email/proxy_ended.txt",
                context={"guardian": link.proxy, "participant": participant},
            )
        user = participant.user
        link_to_follow = (
            invitation_link(user) if not user.has_usable_password() else settings.SITE_URL
        )
        email_queue(
            to=user.email,
            language=participant_language(participant),
            template="consent/email/majority_handover.txt",
            context={"user": user, "participant": participant, "link": link_to_follow},
        )
    return len(links)
