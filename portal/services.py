"""Writes on accounts: registration, invitations, activation, roles, password reset, API
tokens, single sign-on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.audit import audit_log, request_id_var
from portal.exceptions import NotFoundError, PermissionError_, PortalError
from portal.models import (
    ROLE_PRIORITY,
    ApiToken,
    ApiTokenScope,
    OidcIdentity,
    Role,
    User,
    normalize_email,
)
from portal.oidc import ProviderClaims
from portal.oidc import provider_name as oidc_provider_name
from portal.selectors import api_tokens_active
from portal.tasks import (
    password_reset_request_task,
    researcher_register_task,
    send_email_task,
)
from portal.tokens import (
    api_token_digest,
    api_token_prefix,
    api_token_secret_new,
    check_link_token,
    make_link_token,
    password_stamp,
)


class AccountError(PortalError):
    code = "account_error"


class UserActions:
    CREATE = "user.create"
    REGISTER = "user.register"
    # Someone registered with an address that has an account: its owner is told by email.
    REGISTER_EXISTING = "user.register_existing"
    INVITE = "user.invite"
    ROLES_SET = "user.roles_set"
    ROLE_ADD = "user.role_add"
    VERIFY_EMAIL = "user.verify_email"
    ACTIVATE = "user.activate"
    PASSWORD_RESET_REQUEST = "user.password_reset_request"  # noqa: S105 (an action name)
    PASSWORD_RESET = "user.password_reset"  # noqa: S105 (an action name)
    OTP_ENROLMENT_LINK = "user.otp_enrolment_link"
    UPDATE = "user.update"
    PASSWORD_SET = "user.password_set"  # noqa: S105 (an action name)


def email_queue(*, to: str, template: str, context: dict[str, object], language: str = "") -> None:
    """Send an email from a worker once the current transaction commits, written in
    `language`, else in the language of the account with that address, else the page's."""
    language = language or (
        User.objects.filter(email=normalize_email(to)).values_list("language", flat=True).first()
        or ""
    )
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        text = render_to_string(template, {"site_url": settings.SITE_URL, **context})
    subject, _, body = text.strip().partition("\n")
    transaction.on_commit(
        lambda: send_email_task.delay(to=[to], subject=subject.strip(), body=body.strip())
    )


def _link(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"token": token})


def _check_password(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages), code="weak_password") from exc


def _create_user(*, email: str, full_name: str, role: Role, **fields: object) -> User:
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise AccountError(f"An account with the email {email} already exists.", code="duplicate")
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email, None, full_name=full_name, roles=[role], **fields
            )
    except IntegrityError as exc:
        # Two requests raced past the check above.
        raise AccountError(
            f"An account with the email {email} already exists.", code="duplicate"
        ) from exc


def user_create(
    *,
    actor: User | None,
    email: str,
    full_name: str,
    role: Role,
    password_hash: str,
    institution: str = "",
) -> User:
    """An active account with a known password (operators and the demo; people are invited).

    Takes a hash, not a password, so a caller creating many accounts hashes once.
    """
    with transaction.atomic():
        user = _create_user(
            email=email,
            full_name=full_name,
            role=role,
            institution=institution,
            is_staff=role == Role.STEWARD,
            email_verified=True,
        )
        user.password = password_hash
        user.save(update_fields=["password"])
        audit_log(actor=actor, action=UserActions.CREATE, target=user, after={"role": role})
    return user


def researcher_register(*, email: str, full_name: str, institution: str, password: str) -> None:
    """Check and hash the password, then leave the rest to a worker
    (`researcher_account_create`), a moment later (CUSTODIAN_ACCOUNT_TASK_DELAY): a worker
    on the same machine then does not compete with the answer still being sent.

    Whether the address already has an account is decided there, never in the request: the
    answer and the time it takes are the same for a new address and a known one, so the page
    cannot tell anyone who is enrolled (a genomic study's membership is itself sensitive).
    The password is hashed here on both paths, so the broker never carries it.
    """
    _check_password(password, User(email=email, full_name=full_name))
    password_hash = make_password(password)
    request_id = request_id_var.get()
    kwargs = {
        "email": normalize_email(email),
        "full_name": full_name,
        "institution": institution,
        "password_hash": password_hash,
        "request_id": request_id,
    }
    transaction.on_commit(
        lambda: researcher_register_task.apply_async(
            kwargs=kwargs, countdown=settings.CUSTODIAN_ACCOUNT_TASK_DELAY
        )
    )


def researcher_account_create(
    *, email: str, full_name: str, institution: str, password_hash: str
) -> User | None:
    """What a registration does, in the worker.

    1. an address with an account already: email its owner (sign in, or reset the password),
       audit the attempt, create nothing; 2. else create an inactive researcher with the
       hash; 3. audit; 4. email a confirmation link.
    """
    with transaction.atomic(durable=True):
        existing = User.objects.filter(email=normalize_email(email)).first()
        if existing is not None:
            audit_log(actor=None, action=UserActions.REGISTER_EXISTING, target=existing)
            email_queue(
                to=existing.email,
                template="portal/email/register_existing.txt",
                context={
                    "user": existing,
                    "sign_in": settings.SITE_URL + reverse("portal:sign_in"),
                    "reset": settings.SITE_URL + reverse("portal:password_reset"),
                },
            )
            return None
        try:
            user = _create_user(
                email=email,
                full_name=full_name,
                role=Role.RESEARCHER,
                institution=institution,
                is_active=False,
            )
        except AccountError:
            return None  # registered a moment ago by a twin request, which sent the email
        user.password = password_hash
        user.save(update_fields=["password"])
        audit_log(
            actor=None, action=UserActions.REGISTER, target=user, after={"role": Role.RESEARCHER}
        )
        email_verification_send(user=user)
    return user


def email_verification_send(*, user: User) -> None:
    """Email the account's owner a link that confirms their address (and activates it)."""
    email_queue(
        to=user.email,
        template="portal/email/verify_email.txt",
        context={
            "user": user,
            "link": _link("portal:verify_email", make_link_token(user, "verify-email")),
        },
    )


def sign_in_unconfirmed(*, email: str, password: str) -> bool:
    """After a refused sign-in: whether the address's account only waits for its owner to
    confirm the address; if so, a new confirmation link is emailed.

    Decided only after the right password, so a refusal never reveals whether an address has
    an account.
    """
    pending = User.objects.filter(
        email=normalize_email(email), is_active=False, email_verified=False
    ).first()
    if pending is None or not pending.has_usable_password():
        return False
    if not pending.check_password(password):
        return False
    email_verification_send(user=pending)
    return True


def email_verify(*, token: str) -> User:
    with transaction.atomic(durable=True):
        user = check_link_token(
            token, "verify-email", max_age=settings.CUSTODIAN_INVITATION_MAX_AGE
        )
        user = User.objects.select_for_update().get(pk=user.pk)
        user.is_active = True
        user.email_verified = True
        user.save(update_fields=["is_active", "email_verified"])
        audit_log(actor=user, action=UserActions.VERIFY_EMAIL, target=user)
    return user


def user_invite(
    *,
    actor: User,
    email: str,
    full_name: str,
    role: Role,
    language: str = "",
    acting_for: str = "",
) -> User:
    """Create an account that its owner activates from an emailed link (sets a password).

    `language` (e.g. a participant's, from enrolment) is the account's: the invitation is
    written in it, and so are the pages once they sign in. `acting_for`: the name of the
    person a guardian is invited to act for, which the invitation names."""
    with transaction.atomic():
        user = _create_user(
            email=email, full_name=full_name, role=role, is_active=False, language=language
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        audit_log(actor=actor, action=UserActions.INVITE, target=user, after={"role": role})
        email_queue(
            to=user.email,
            template="portal/email/invitation.txt",
            context={
                "user": user,
                "inviter": actor,
                "link": invitation_link(user),
                "acting_for": acting_for,
            },
        )
    return user


def _roles_write(*, actor: User | None, user: User, roles: list[str], action: str) -> User:
    """Store the roles (in ROLE_PRIORITY order) under a lock, with their audit entry.

    `is_staff` follows the steward role, as at creation: the admin is the stewards' tool.
    """
    ordered = [str(role) for role in ROLE_PRIORITY if role in roles]
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = list(locked.roles)
        locked.roles = ordered
        locked.is_staff = Role.STEWARD in ordered or locked.is_superuser
        locked.save(update_fields=["roles", "is_staff"])
        audit_log(
            actor=actor,
            action=action,
            target=locked,
            before={"roles": before},
            after={"roles": ordered},
        )
    user.roles, user.is_staff = locked.roles, locked.is_staff
    return locked


def user_roles_set(*, actor: User, user: User, roles: Iterable[str]) -> User:
    """A data steward gives a person exactly these roles (one or more)."""
    if not actor.has_role(Role.STEWARD):
        raise PermissionError_("Only data stewards change a person's roles.")
    wanted = list(dict.fromkeys(str(role) for role in roles))
    unknown = [role for role in wanted if role not in Role.values]
    if unknown:
        raise AccountError(
            f"Unknown role: {', '.join(unknown)}. The roles are: {', '.join(Role.values)}.",
            code="invalid",
        )
    if not wanted:
        raise AccountError(
            f"{user.email} needs at least one role: an account without a role has no home.",
            code="invalid",
        )
    if user.pk == actor.pk and Role.STEWARD not in wanted:
        # Nobody locks themselves (perhaps the last steward) out of the steward's pages.
        raise AccountError(
            "You cannot remove your own data steward role: ask another steward.",
            code="own_steward_role",
        )
    return _roles_write(actor=actor, user=user, roles=wanted, action=UserActions.ROLES_SET)


def user_role_add(*, actor: User | None, user: User, role: Role) -> User:
    """Add one role to those the person holds; the caller has checked that the actor may
    (a steward linking a guardian, or appointing someone to a committee). No-op if held."""
    with transaction.atomic():
        # Read under the lock: the caller's copy may be older than another steward's change.
        held = User.objects.select_for_update().values_list("roles", flat=True).get(pk=user.pk)
        if role in held:
            user.roles = list(held)
            return user
        return _roles_write(
            actor=actor, user=user, roles=[*held, role], action=UserActions.ROLE_ADD
        )


# What an operator may change on an account besides its roles (`user_roles_set`) and password
# (`user_password_set`); the admin's change page writes through `user_update`.
USER_DETAIL_FIELDS = (
    "email",
    "full_name",
    "institution",
    "is_active",
    "email_verified",
    "is_staff",
    "is_superuser",
)


def user_update(*, actor: User, user: User, changes: Mapping[str, object]) -> User:
    """An operator's change to an account's details: locked, audited with what changed, and a
    deactivated account's API tokens end with it (for good, even if it is reactivated later).

    Runs inside the caller's transaction when there is one (the admin's save)."""
    unknown = sorted(set(changes) - set(USER_DETAIL_FIELDS))
    if unknown:
        raise AccountError(f"These are not account details: {', '.join(unknown)}.", code="invalid")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        wanted = dict(changes)
        if "email" in wanted:
            wanted["email"] = normalize_email(str(wanted["email"]))
        changed = {name: value for name, value in wanted.items() if getattr(locked, name) != value}
        if not changed:
            return locked
        if changed.get("email") and User.objects.filter(email=changed["email"]).exists():
            raise AccountError(
                f"An account with the email {changed['email']} already exists.", code="duplicate"
            )
        before = {name: getattr(locked, name) for name in changed}
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changed))
        audit_log(
            actor=actor, action=UserActions.UPDATE, target=locked, before=before, after=changed
        )
        if changed.get("is_active") is False:
            api_tokens_revoke_all(actor=actor, user=locked, reason="account deactivated")
    return locked


def user_password_set(*, actor: User, user: User, password: str | None) -> User:
    """An operator sets an account's password (checked by the caller's form), or with None
    turns password sign-in off. The account's API tokens stop working: they were issued
    under the old password. Runs inside the caller's transaction when there is one."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if password is None:
            locked.set_unusable_password()
        else:
            locked.set_password(password)
        locked.save(update_fields=["password"])
        audit_log(
            actor=actor,
            action=UserActions.PASSWORD_SET,
            target=locked,
            after={"usable": password is not None},
        )
    return locked


def invitation_link(user: User) -> str:
    return _link("portal:activate", make_link_token(user, "invitation"))


def invitation_check(*, token: str) -> User:
    return check_link_token(token, "invitation", max_age=settings.CUSTODIAN_INVITATION_MAX_AGE)


def user_activate(*, token: str, password: str) -> User:
    with transaction.atomic(durable=True):
        user = invitation_check(token=token)
        user = User.objects.select_for_update().get(pk=user.pk)
        # Re-check under the lock: two tabs submitting the same link must not both win.
        invitation_check(token=token)
        _check_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.email_verified = True
        user.save(update_fields=["password", "is_active", "email_verified"])
        audit_log(actor=user, action=UserActions.ACTIVATE, target=user)
    return user


def password_reset_ask(*, email: str) -> None:
    """Queue the reset for a worker (`password_reset_request`): the request does the same
    work, and answers the same, whether or not the address has an account."""
    address, request_id = normalize_email(email), request_id_var.get()
    transaction.on_commit(
        lambda: password_reset_request_task.apply_async(
            kwargs={"email": address, "request_id": request_id},
            countdown=settings.CUSTODIAN_ACCOUNT_TASK_DELAY,
        )
    )


def password_reset_request(*, email: str) -> None:
    """Email a reset link if an active account has this address; say nothing either way."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    with transaction.atomic(durable=True):
        audit_log(actor=None, action=UserActions.PASSWORD_RESET_REQUEST, target=user)
        email_queue(
            to=user.email,
            template="portal/email/password_reset.txt",
            context={
                "user": user,
                "link": _link(
                    "portal:password_reset_confirm", make_link_token(user, "password-reset")
                ),
            },
        )


def otp_enrolment_send(*, user: User) -> None:
    """Email a one-time link that lets this account set up its first authenticator: a stolen
    password alone cannot register the thief's authenticator (portal.views.otp)."""
    with transaction.atomic(durable=True):
        audit_log(actor=user, action=UserActions.OTP_ENROLMENT_LINK, target=user)
        email_queue(
            to=user.email,
            template="portal/email/otp_enrolment.txt",
            context={
                "user": user,
                "link": _link("portal:otp_enrol", make_link_token(user, "otp-enrolment")),
            },
        )


def otp_enrolment_check(*, token: str, user: User) -> None:
    """The link is valid and belongs to the signed-in account (InvalidLinkError if not)."""
    owner = check_link_token(
        token, "otp-enrolment", max_age=settings.CUSTODIAN_OTP_ENROLMENT_MAX_AGE
    )
    if owner.pk != user.pk:
        raise AccountError(
            _("This enrolment link belongs to another account: sign in with that account."),
            code="link_other_account",
            http_status=403,
        )


def password_reset_check(*, token: str) -> User:
    return check_link_token(
        token, "password-reset", max_age=settings.CUSTODIAN_PASSWORD_RESET_MAX_AGE
    )


def password_reset_complete(*, token: str, password: str) -> User:
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=password_reset_check(token=token).pk)
        password_reset_check(token=token)
        _check_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_log(actor=user, action=UserActions.PASSWORD_RESET, target=user)
    return user


class ApiTokenError(PortalError):
    code = "api_token_error"


class ApiTokenActions:
    CREATE = "api_token.create"
    REVOKE = "api_token.revoke"
    REVOKE_ALL = "api_token.revoke_all"


def _api_token_check(*, name: str, scope: str, expires_in_days: int) -> None:
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the token a name, so you know later what uses it.")]
    elif len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = [_("A token's name has at most 100 characters.")]
    if scope not in ApiTokenScope.values:
        errors["scope"] = [
            _("Choose a scope: %(scopes)s.") % {"scopes": ", ".join(ApiTokenScope.values)}
        ]
    maximum = settings.CUSTODIAN_API_TOKEN_MAX_DAYS
    if not 1 <= expires_in_days <= maximum:
        errors["expires_in_days"] = [
            _("A token lasts from 1 to %(maximum)d days.") % {"maximum": maximum}
        ]
    if errors:
        error = ApiTokenError(" ".join(m for ms in errors.values() for m in ms), code="invalid")
        error.errors = errors  # type: ignore[attr-defined]
        raise error


def api_token_create(
    *, actor: User, name: str, scope: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new personal API token and its secret, which is never stored and never shown again.

    1. check the name, scope and lifetime; 2. lock the owner and count their working tokens
    (two tabs must not pass the cap together); 3. store the secret's digest; 4. audit.
    """
    name = name.strip()
    days = settings.CUSTODIAN_API_TOKEN_DAYS if expires_in_days is None else expires_in_days
    _api_token_check(name=name, scope=scope, expires_in_days=days)
    secret = api_token_secret_new()
    with transaction.atomic(durable=True):
        owner = User.objects.select_for_update().get(pk=actor.pk)
        cap = settings.CUSTODIAN_API_TOKEN_MAX_ACTIVE
        if api_tokens_active(owner).count() >= cap:
            raise ApiTokenError(
                _(
                    "You already have %(cap)d working API tokens, the most one person may "
                    "hold. Revoke one you no longer use, then create the new one."
                )
                % {"cap": cap},
                code="too_many_tokens",
                http_status=409,
            )
        now = timezone.now()
        token = ApiToken.objects.create(
            user=owner,
            name=name,
            prefix=api_token_prefix(secret),
            digest=api_token_digest(secret),
            scope=scope,
            password_stamp=password_stamp(owner),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit_log(
            actor=actor,
            action=ApiTokenActions.CREATE,
            target=token,
            after={
                "name": name,
                "prefix": token.prefix,
                "scope": scope,
                "expires_at": token.expires_at.isoformat(),
            },
        )
    return token, secret


def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """The owner ends one of their tokens at once (anyone else's is "not found")."""
    with transaction.atomic(durable=True):
        locked = ApiToken.objects.select_for_update().filter(pk=token.pk, user=actor).first()
        if locked is None:
            raise NotFoundError(_("There is no such API token among yours."))
        if locked.revoked_at is not None:
            raise ApiTokenError(
                _("The token “%(name)s” was already revoked.") % {"name": locked.name},
                code="already_revoked",
                http_status=409,
            )
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_log(
            actor=actor,
            action=ApiTokenActions.REVOKE,
            target=locked,
            after={"name": locked.name, "prefix": locked.prefix},
        )
    return locked


def api_tokens_revoke_all(*, actor: User | None, user: User, reason: str) -> int:
    """End every token of a person (their account was deactivated); returns how many.

    Runs inside the caller's transaction when there is one (the admin's save)."""
    with transaction.atomic():
        count = ApiToken.objects.filter(user=user, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if count:
            audit_log(
                actor=actor,
                action=ApiTokenActions.REVOKE_ALL,
                target=user,
                after={"tokens": count, "reason": reason},
            )
    return count


class OidcActions:
    SIGN_IN = "user.oidc_sign_in"
    LINK = "user.oidc_link"
    UNLINK = "user.oidc_unlink"


def _oidc_refusal(message: str, code: str, http_status: int = 403) -> AccountError:
    return AccountError(message, code=code, http_status=http_status)


def _oidc_link_write(*, user: User, claims: ProviderClaims, how: str) -> OidcIdentity:
    """Store the link (the caller holds the user's row lock), refusing a login already linked
    to another account or an account already linked to another login of this provider."""
    name = oidc_provider_name()
    if OidcIdentity.objects.filter(user=user, issuer=claims.issuer).exists():
        raise _oidc_refusal(
            _(
                "Your Custodian account is linked to another %(name)s login already. Unlink "
                "it on your account page first, or sign in with that login."
            )
            % {"name": name},
            "sign_on_other_login",
            409,
        )
    try:
        with transaction.atomic():
            identity = OidcIdentity.objects.create(
                user=user,
                issuer=claims.issuer,
                subject=claims.subject,
                email=normalize_email(claims.email) if claims.email else "",
            )
    except IntegrityError as exc:
        # The same login was linked to another account a moment ago.
        raise _oidc_refusal(
            _("This %(name)s login is linked to another Custodian account.") % {"name": name},
            "sign_on_linked_elsewhere",
            409,
        ) from exc
    audit_log(
        actor=user,
        action=OidcActions.LINK,
        target=user,
        after={"issuer": claims.issuer, "subject": claims.subject, "how": how},
    )
    return identity


def _oidc_account_for_email(claims: ProviderClaims) -> tuple[User, str]:
    """The account a verified address belongs to, or a new researcher's account."""
    email = normalize_email(claims.email)
    user = User.objects.select_for_update().filter(email=email).first()
    if user is not None:
        return user, "verified_email"
    if not settings.CUSTODIAN_OIDC_CREATE_ACCOUNTS:
        raise _oidc_refusal(
            _(
                "There is no Custodian account for %(email)s. Researchers can register; "
                "committee members and participants are invited by a data steward. If your "
                "account uses another address, sign in with it and link your %(name)s login "
                "on your account page."
            )
            % {"email": email, "name": oidc_provider_name()},
            "sign_on_no_account",
        )
    # Like a registration whose address is confirmed: a researcher, never another role.
    user = _create_user(
        email=email,
        full_name=claims.name or email.partition("@")[0],
        role=Role.RESEARCHER,
        is_active=True,
        email_verified=True,
    )
    audit_log(
        actor=None,
        action=UserActions.REGISTER,
        target=user,
        after={"role": Role.RESEARCHER, "via": "oidc", "issuer": claims.issuer},
    )
    return user, "new_account"


def oidc_sign_in(*, claims: ProviderClaims) -> User:
    """The account a provider's login opens.

    1. a stored link (issuer, subject) names it; 2. else an address the provider says it
    verified names it (or, when allowed, a new researcher's account), and the link is stored;
    3. anything else is refused with what to do instead; 4. an inactive account is refused;
    5. the sign-in is audited (with whether the provider asserted several factors).
    """
    name = oidc_provider_name()
    with transaction.atomic(durable=True):
        identity = (
            OidcIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=claims.issuer, subject=claims.subject)
            .first()
        )
        if identity is not None:
            user, matched_by = identity.user, "link"
        elif claims.email and claims.email_verified:
            user, matched_by = _oidc_account_for_email(claims)
        else:
            raise _oidc_refusal(
                _(
                    "%(name)s has not confirmed your email address, so we cannot tell which "
                    "Custodian account is yours. Sign in with your Custodian email and "
                    "password, then choose “Link your %(name)s login” on your account page: "
                    "from then on %(name)s signs you in."
                )
                % {"name": name},
                "sign_on_unverified_email",
            )
        if not user.is_active:
            raise _oidc_refusal(
                _(
                    "The Custodian account for %(email)s is not active: it was deactivated, "
                    "or its invitation or email confirmation is not completed yet."
                )
                % {"email": user.email},
                "sign_on_inactive",
            )
        if identity is None:
            identity = _oidc_link_write(user=user, claims=claims, how=matched_by)
        identity.last_used_at = timezone.now()
        identity.save(update_fields=["last_used_at"])
        audit_log(
            actor=user,
            action=OidcActions.SIGN_IN,
            target=user,
            after={
                "issuer": claims.issuer,
                "subject": claims.subject,
                "matched_by": matched_by,
                "mfa": claims.mfa,
            },
        )
    return user


def oidc_identity_link(*, actor: User, claims: ProviderClaims) -> OidcIdentity:
    """Link the provider's login to the signed-in person's own account (whatever address
    the provider has, verified or not: the person proved both by signing in to each)."""
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=actor.pk)
        existing = OidcIdentity.objects.filter(issuer=claims.issuer, subject=claims.subject).first()
        if existing is not None and existing.user_id == user.pk:
            return existing
        if existing is not None:
            raise _oidc_refusal(
                _(
                    "This %(name)s login is linked to another Custodian account. Sign in "
                    "with that account and unlink it there first."
                )
                % {"name": oidc_provider_name()},
                "sign_on_linked_elsewhere",
                409,
            )
        return _oidc_link_write(user=user, claims=claims, how="account_page")


def oidc_identity_unlink(*, actor: User, identity_id: int) -> OidcIdentity:
    """The owner removes a link; the provider then signs them in only by a verified address."""
    with transaction.atomic(durable=True):
        identity = (
            OidcIdentity.objects.select_for_update().filter(pk=identity_id, user=actor).first()
        )
        if identity is None:
            raise NotFoundError(_("There is no such linked login among yours."))
        identity.delete()
        audit_log(
            actor=actor,
            action=OidcActions.UNLINK,
            target=actor,
            after={"issuer": identity.issuer, "subject": identity.subject},
        )
    return identity


def user_language_set(*, user: User, language: str) -> User:
    """The person's own choice of language (the view checked it is offered). Not audited:
    a display preference, like the cookie it mirrors; nothing is decided by it."""
    if language not in dict(settings.LANGUAGES):
        raise AccountError(_("This language is not offered."), code="invalid")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user
