"""Writes behind GA4GH visas: the signing key (first use, rotation) and signing officials.

A researcher names their signing official; the official, who needs no account, gets an
emailed link carrying a random token (only its SHA-256 is stored), opens it, sees who asks,
and confirms or declines once. A confirmation makes a ResearcherStatus visa for
BONA_FIDE_DAYS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from access.models import OfficialAnswer, SigningOfficialConfirmation, VisaAlgorithm, VisaKey
from access.notifications import notify, notify_email_only
from access.services.base import AccessError, AccessProblems
from access.transitions import OFFICIAL_TRANSITIONS
from access.visas import new_key_material
from portal.audit import audit_log
from portal.exceptions import InvalidLinkError, StaleStateError
from portal.models import Role, User, normalize_email
from portal.transitions import transition

# How long the official's link works, and how long their confirmation stands.
OFFICIAL_LINK_DAYS = 14
BONA_FIDE_DAYS = 365
# Each ask emails someone who has no account here: a cap keeps the form from being a way to
# send the portal's email to anyone, again and again.
OFFICIAL_ASKS_PER_DAY = 5
# Any constant works; it only serializes creators and rotators of the signing key.
_KEY_LOCK = 0x7669736173  # "visas"


class VisaActions:
    """Audit action names: grep finds every writer of an event."""

    KEY_CREATE = "visa_key.create"
    KEY_ROTATE = "visa_key.rotate"
    OFFICIAL_ASK = "signing_official.ask"


def _lock_keys() -> None:
    # Two first uses at once must not both create a key. SQLite runs transactions
    # IMMEDIATE (see settings), which serializes writers already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_KEY_LOCK])


def _current() -> VisaKey | None:
    return VisaKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-pk").first()


def _create(algorithm: str, actor: User | None, now: dt.datetime) -> VisaKey:
    kid, encrypted, public_jwk = new_key_material(algorithm)
    key = VisaKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        private_key_encrypted=encrypted,
        public_jwk=public_jwk,
        created_at=now,
    )
    audit_log(
        actor=actor,
        action=VisaActions.KEY_CREATE,
        target=key,
        after={"kid": kid, "algorithm": algorithm},
    )
    return key


def visa_key_current() -> VisaKey:
    """The key visas are signed with now; the first use creates one (ES256)."""
    key = _current()
    if key is not None:
        return key
    with transaction.atomic(durable=True):
        _lock_keys()
        return _current() or _create(VisaAlgorithm.ES256, None, timezone.now())


def visa_key_rotate(
    *, actor: User | None, algorithm: str = VisaAlgorithm.ES256
) -> tuple[VisaKey, list[VisaKey]]:
    """Sign with a new key from now on; the old keys stay published until their visas expire.

    1. Lock out other creators and rotators.
    2. Retire every current key: published until now + CUSTODIAN_VISA_MAX_SECONDS, the
       latest expiry of any visa it signed.
    3. Create the new key. Returns it and the keys retired.
    """
    if algorithm not in VisaAlgorithm.values:
        raise AccessError(f"{algorithm} is not a visa algorithm: use ES256 or RS256.")
    with transaction.atomic(durable=True):
        _lock_keys()
        now = timezone.now()
        retired = list(VisaKey.objects.select_for_update().filter(retired_at__isnull=True))
        until = now + dt.timedelta(seconds=settings.CUSTODIAN_VISA_MAX_SECONDS)
        for key in retired:
            key.retired_at, key.published_until = now, until
            key.save(update_fields=["retired_at", "published_until"])
        key = _create(algorithm, actor, now)
        audit_log(
            actor=actor,
            action=VisaActions.KEY_ROTATE,
            target=key,
            after={"retired": [k.kid for k in retired], "published_until": until.isoformat()},
        )
    return key, retired


# --- signing officials --------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def official_ask(
    *, actor: User, official_name: str, official_email: str, institution: str
) -> SigningOfficialConfirmation:
    """Email the researcher's signing official a link to confirm their bona fide status.

    A request still waiting is cancelled (its link stops working); a confirmation in force
    stays until the new one is answered.
    """
    official_name, institution = (official_name or "").strip(), (institution or "").strip()
    official_email = normalize_email(official_email or "")
    problems: dict[str, list[str]] = {"official_name": [], "official_email": [], "institution": []}
    if not actor.has_role(Role.RESEARCHER):
        raise AccessError("Only researchers ask for a bona fide researcher status.", code="role")
    if not official_name:
        problems["official_name"].append("Give your signing official's name.")
    try:
        validate_email(official_email)
    except ValidationError:
        problems["official_email"].append(
            f"“{official_email}” is not an email address."
            if official_email
            else "Give your signing official's email address."
        )
    else:
        if official_email == normalize_email(actor.email):
            problems["official_email"].append(
                "Your signing official is someone at your institution other than you."
            )
    if not institution:
        problems["institution"].append("Give the institution your signing official speaks for.")
    if any(problems.values()):
        raise AccessProblems(problems)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic(durable=True):
        User.objects.select_for_update().get(pk=actor.pk)  # one ask at a time per researcher
        asked_today = SigningOfficialConfirmation.objects.filter(
            researcher=actor, asked_at__gt=now - dt.timedelta(days=1)
        ).count()
        if asked_today >= OFFICIAL_ASKS_PER_DAY:
            raise AccessError(
                f"You have asked {asked_today} times in the last 24 hours. Wait a day before "
                "asking again, or ask your signing official to look for the emails already sent.",
                code="too_many",
                http_status=429,
            )
        waiting = SigningOfficialConfirmation.objects.filter(
            researcher=actor, status=OfficialAnswer.PENDING
        )
        for old in waiting:
            transition(
                old,
                OfficialAnswer.CANCELLED,
                table=OFFICIAL_TRANSITIONS,
                actor=actor,
                reason="replaced by a newer request",
                extra={"answered_at": now},
            )
        confirmation = SigningOfficialConfirmation.objects.create(
            researcher=actor,
            official_name=official_name,
            official_email=official_email,
            institution=institution,
            token_sha256=_token_hash(token),
            asked_at=now,
            link_expires_at=now + dt.timedelta(days=OFFICIAL_LINK_DAYS),
        )
        audit_log(
            actor=actor,
            action=VisaActions.OFFICIAL_ASK,
            target=confirmation,
            after={"official_email": official_email, "institution": institution},
        )
        notify_email_only(
            to=official_email,
            template="access/email/signing_official.txt",
            context={
                "confirmation": confirmation,
                "researcher": actor,
                "path": reverse("access:bona_fide_answer", kwargs={"token": token}),
                "days": BONA_FIDE_DAYS,
            },
        )
    return confirmation


def official_from_token(token: str) -> SigningOfficialConfirmation:
    """The request a link belongs to, or InvalidLinkError saying plainly what is wrong."""
    confirmation = (
        SigningOfficialConfirmation.objects.select_related("researcher")
        .filter(token_sha256=_token_hash(token or ""))
        .first()
    )
    if confirmation is None:
        raise InvalidLinkError(
            "This confirmation link is not valid. Check that you copied the whole link from "
            "the email.",
            code="link_invalid",
        )
    who = confirmation.researcher.full_name or confirmation.researcher.email
    if confirmation.status == OfficialAnswer.CANCELLED:
        raise InvalidLinkError(
            f"{who} sent a newer request after this one, so this link no longer works. Use the "
            "link in the newest email.",
            code="link_replaced",
        )
    if confirmation.status != OfficialAnswer.PENDING:
        answer = "confirmed" if confirmation.status == OfficialAnswer.CONFIRMED else "declined"
        when = timezone.localtime(confirmation.answered_at).strftime("%-d %B %Y")
        raise InvalidLinkError(
            f"This link has already been used: the request was {answer} on {when}.",
            code="link_used",
        )
    if timezone.now() >= confirmation.link_expires_at:
        when = timezone.localtime(confirmation.link_expires_at).strftime("%-d %B %Y")
        raise InvalidLinkError(
            f"This confirmation link expired on {when}. Ask {who} to send a new request.",
            code="link_expired",
        )
    return confirmation


def official_answer(*, token: str, confirm: bool) -> SigningOfficialConfirmation:
    """The official confirms or declines, once; the researcher is told either way."""
    with transaction.atomic(durable=True):
        confirmation = official_from_token(token)
        locked = SigningOfficialConfirmation.objects.select_for_update().get(pk=confirmation.pk)
        if locked.status != confirmation.status:
            raise StaleStateError("This request was answered meanwhile. Reload the page.")
        now = timezone.now()
        extra: dict[str, object] = {"answered_at": now}
        if confirm:
            extra |= {"confirmed_at": now, "expires_at": now + dt.timedelta(days=BONA_FIDE_DAYS)}
        transition(
            locked,
            OfficialAnswer.CONFIRMED if confirm else OfficialAnswer.DECLINED,
            table=OFFICIAL_TRANSITIONS,
            actor=None,
            reason=f"by {locked.official_email}",
            extra=extra,
        )
        answer = "confirmed" if confirm else "declined"
        notify(
            users=[confirmation.researcher],
            message=f"{locked.official_name} {answer} your bona fide researcher status.",
            url=reverse("access:bona_fide"),
            template="access/email/notice.txt",
        )
    locked.researcher = confirmation.researcher
    return locked
