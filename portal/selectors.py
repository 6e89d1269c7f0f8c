"""Reads on accounts: a person's API tokens, and why a token does not work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from portal.audit import state_version_sql
from portal.db import fetch_prepared
from portal.exceptions import NotFoundError
from portal.models import ApiToken, OidcIdentity, User
from portal.tokens import password_stamp


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """Every token of the person, newest first (revoked and expired ones too)."""
    return ApiToken.objects.filter(user=user).select_related("user").order_by("-created_at", "-pk")


def api_tokens_active(user: User) -> QuerySet[ApiToken]:
    """The tokens that still work: not revoked, not expired, made with the current password."""
    return ApiToken.objects.filter(
        user=user,
        revoked_at=None,
        expires_at__gt=timezone.now(),
        password_stamp=password_stamp(user),
    )


def api_token_of(user: User, token_id: int) -> ApiToken:
    """One of the person's tokens; someone else's is "not found", like a missing one."""
    token = ApiToken.objects.filter(user=user, pk=token_id).select_related("user").first()
    if token is None:
        raise NotFoundError(_("There is no such API token among yours."))
    return token


@dataclass(frozen=True)
class ModelColumns:
    """A model's columns in a hand-written query: attribute names, and each column's
    converters from database values (what the ORM would apply)."""

    model: type[Model]
    names: list[str]
    converters: list[tuple[Field[Any, Any], list[Any]]]

    @classmethod
    def of(cls, model: type[Model]) -> ModelColumns:
        fields = list(model._meta.concrete_fields)
        return cls(
            model,
            [f.attname for f in fields],
            # The backend's converters, then the field's, as the ORM's compiler applies them
            # (SQLite's turn its text into aware datetimes, booleans and the like).
            [
                (
                    f,
                    connection.ops.get_db_converters(f.cached_col)
                    + f.get_db_converters(connection),
                )
                for f in fields
            ],
        )

    def instance(self, values: tuple[Any, ...]) -> Any:
        converted = []
        for (field, converters), value in zip(self.converters, values, strict=True):
            for converter in converters:
                value = converter(value, field.cached_col, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.names, converted)


@cache
def _token_lookup() -> tuple[str, ModelColumns, ModelColumns]:
    """The token-with-its-owner query, built once: every API request authenticates, and
    compiling the ORM's select_related query cost more than running it (docs/benchmarks.md,
    DRS section). It reads `portal.audit.state_version` in the same round trip."""
    quote = connection.ops.quote_name
    token, user = ModelColumns.of(ApiToken), ModelColumns.of(User)
    columns = [f"t.{quote(str(f.column))}" for f, _ in token.converters]
    columns += [f"u.{quote(str(f.column))}" for f, _ in user.converters]
    columns.append(state_version_sql())
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t "  # noqa: S608
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(str(User._meta.pk.column))} = "
        f"t.{quote(str(ApiToken._meta.get_field('user').column))} WHERE t.{quote('prefix')} = %s"
    )
    return sql, token, user


def api_tokens_with_prefix(prefix: str) -> list[ApiToken]:
    """The tokens whose secret starts with `prefix`, each with its owner loaded and
    `state_version` (`portal.audit.state_version`) as the token was read, for views that
    cache answers under it (DRS, htsget) to skip reading it again."""
    sql, token_columns, user_columns = _token_lookup()
    rows = fetch_prepared(sql, [prefix])
    tokens = []
    split = len(token_columns.names)
    for row in rows:
        token = token_columns.instance(row[:split])
        token.user = user_columns.instance(row[split:-1])
        token.state_version = str(row[-1])
        tokens.append(token)
    return tokens


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y, H:i T")


def api_token_refusal(token: ApiToken, *, now: datetime | None = None) -> tuple[str, str] | None:
    """Why the token no longer works, as (code, message in plain words); None while it works.

    Reads `token.user` (select it with the token)."""
    now = now or timezone.now()
    if not token.user.is_active:
        return "account_inactive", _(
            "This account is deactivated, so its API tokens no longer work."
        )
    if token.revoked_at is not None:
        return "token_revoked", _("This API token was revoked on %(when)s.") % {
            "when": _when(token.revoked_at)
        }
    if token.expires_at <= now:
        return "token_expired", _(
            "This API token expired on %(when)s. Create a new one on your account page."
        ) % {"when": _when(token.expires_at)}
    if token.password_stamp != password_stamp(token.user):
        return "token_password_changed", _(
            "This API token stopped working when the account's password was changed or "
            "reset. Create a new one on your account page."
        )
    return None


API_TOKEN_STATES = {
    None: "active",
    "token_revoked": "revoked",
    "token_expired": "expired",
    "token_password_changed": "password_changed",
    "account_inactive": "account_inactive",
}


def api_token_state(token: ApiToken, *, now: datetime | None = None) -> str:
    """active, revoked, expired, password_changed or account_inactive."""
    refusal = api_token_refusal(token, now=now)
    return API_TOKEN_STATES[refusal[0] if refusal else None]


def oidc_identities_of(user: User) -> QuerySet[OidcIdentity]:
    """The provider logins linked to the person's account."""
    return OidcIdentity.objects.filter(user=user).order_by("created_at", "pk")
