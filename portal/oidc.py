"""Single sign-on: the OpenID Connect relying party, built on mozilla-django-oidc.

The library does the protocol: the authorization request with state, nonce and PKCE kept in
the session, the code exchange, the ID token's signature checked against the provider's JWKS,
the nonce. This module gives it the provider's endpoints from the issuer's discovery document
(fetched when first needed, then cached, so the portal starts while the provider is down),
checks what the library leaves out (the ID token's issuer, audience and expiry; userinfo
describing the same subject), and turns every failure into a PortalError a person can read.
Which account a login opens is decided by the services (`oidc_sign_in`, `oidc_identity_link`).

The library's backend is used as a client, not listed in AUTHENTICATION_BACKENDS: Django
calls every listed backend on each password sign-in and would swallow the refusals, and the
callback must know whether the person is signing in or linking a login to their account.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify, import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from portal.exceptions import PortalError
from portal.models import User

logger = logging.getLogger(__name__)

# The session key naming the user whose sign-in the provider confirmed with several factors.
MFA_SESSION_KEY = "custodian_oidc_mfa_user"
# How long a discovery document is trusted before it is fetched again.
DISCOVERY_MAX_AGE = 3600.0
# After a failed fetch, sign-ins are told the provider is down without asking it again for this
# long (seconds).
DISCOVERY_RETRY_AFTER = 30.0

_discovered: dict[str, tuple[float, dict[str, Any]]] = {}
_failed: dict[str, float] = {}
_discovered_lock = threading.Lock()


class SignOnError(PortalError):
    """The sign-in cannot go on: an answer that does not fit, or a refusal."""

    code = "sign_on_failed"
    http_status = 400


class ProviderUnavailable(PortalError):
    """The provider does not answer, or answers nonsense: nothing the person did wrong."""

    code = "sign_on_unavailable"
    http_status = 502


def enabled() -> bool:
    return bool(settings.CUSTODIAN_OIDC_ISSUER)


def provider_name() -> str:
    return settings.CUSTODIAN_OIDC_NAME or urlsplit(settings.CUSTODIAN_OIDC_ISSUER).hostname or ""


def _unavailable() -> ProviderUnavailable:
    return ProviderUnavailable(
        _(
            "%(name)s is not answering at the moment, so we cannot sign you in with it. "
            "Try again in a few minutes, or sign in with your Custodian email and password."
        )
        % {"name": provider_name()}
    )


def discovery() -> dict[str, Any]:
    """The issuer's OpenID Provider Configuration, fetched once an hour at most.

    A failure is remembered for a short while, so pages that ask (the account page) do not
    each wait for a provider that is down."""
    issuer = settings.CUSTODIAN_OIDC_ISSUER
    with _discovered_lock:
        cached = _discovered.get(issuer)
        failed_at = _failed.get(issuer)
    now = time.monotonic()
    if cached is not None and now - cached[0] < DISCOVERY_MAX_AGE:
        return cached[1]
    if failed_at is not None and now - failed_at < DISCOVERY_RETRY_AFTER:
        raise _unavailable()
    try:
        document = _fetch_discovery(issuer)
    except ProviderUnavailable:
        with _discovered_lock:
            _failed[issuer] = time.monotonic()
        raise
    with _discovered_lock:
        _discovered[issuer] = (time.monotonic(), document)
        _failed.pop(issuer, None)
    return document


def _fetch_discovery(issuer: str) -> dict[str, Any]:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OpenID Connect discovery failed at %s: %s", url, exc)
        raise _unavailable() from exc
    missing = [
        key
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(document, dict) or not document.get(key)
    ]
    # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was asked for.
    if missing or document["issuer"] != issuer:
        logger.error(
            "OpenID Connect discovery at %s is unusable: missing %s, issuer %r (expected %r)",
            url,
            missing,
            document.get("issuer") if isinstance(document, dict) else None,
            issuer,
        )
        raise _unavailable()
    return document


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def form_action_sources() -> list[str]:
    """The origins a page's form may lead to besides the portal: the "Link your login" button
    posts to the portal, which redirects to the provider, and browsers check the redirect
    against the page's CSP form-action."""
    origins = {_origin(settings.CUSTODIAN_OIDC_ISSUER)}
    # When the provider is down, the button shows a page saying so: no redirect to allow.
    with contextlib.suppress(ProviderUnavailable):
        origins.add(_origin(discovery()["authorization_endpoint"]))
    return sorted(origins)


def forget_discovery() -> None:
    with _discovered_lock:
        _discovered.clear()
        _failed.clear()


def library_setting(attr: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, with the client and endpoints read when used."""
    live = {
        "OIDC_RP_CLIENT_ID": lambda: settings.CUSTODIAN_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": lambda: settings.CUSTODIAN_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": lambda: settings.CUSTODIAN_OIDC_SCOPES,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: discovery()["authorization_endpoint"],
        "OIDC_OP_TOKEN_ENDPOINT": lambda: discovery()["token_endpoint"],
        "OIDC_OP_JWKS_ENDPOINT": lambda: discovery()["jwks_uri"],
        "OIDC_OP_USER_ENDPOINT": lambda: discovery().get("userinfo_endpoint"),
    }
    if attr in live:
        return live[attr]()
    return import_from_settings(attr, *default)


class _AuthorizationRequest(OIDCAuthenticationRequestView):
    get_settings = staticmethod(library_setting)


def authorization_redirect(request: HttpRequest, *, link_user: User | None = None) -> HttpResponse:
    """Send the browser to the provider (state, nonce and PKCE verifier kept in the session).

    With `link_user`, the answer links the login to that signed-in account instead of
    signing in."""
    view = _AuthorizationRequest()
    view.setup(request)
    response = view.get(request)
    if link_user is not None:
        state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
        request.session["oidc_states"][state]["link_user_id"] = link_user.pk
        request.session.modified = True
    return response


@dataclass(frozen=True)
class ProviderClaims:
    """What the provider says about the person, once every check passed."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    mfa: bool


def mfa_asserted(id_token: dict[str, Any]) -> bool:
    """Whether the ID token says the person used several factors (its acr or amr), by the
    values configured as meaning so."""
    amr = id_token.get("amr")
    methods = {str(m) for m in amr} if isinstance(amr, list) else set()
    return bool(
        methods & set(settings.CUSTODIAN_OIDC_MFA_AMR)
        or (id_token.get("acr") and str(id_token["acr"]) in settings.CUSTODIAN_OIDC_MFA_ACR)
    )


def id_token_claims(token: str | bytes, key: Any) -> dict[str, Any]:
    """The ID token's claims once its RS256 signature, issuer, audience and times check out.

    The library checks the signature only (OpenID Connect Core 1.0, 3.1.3.7 asks for all)."""
    client_id = settings.CUSTODIAN_OIDC_CLIENT_ID
    try:
        if jwt.get_unverified_header(token).get("alg") != settings.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("ID token not signed with " + settings.OIDC_RP_SIGN_ALGO)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[settings.OIDC_RP_SIGN_ALGO],
            audience=client_id,
            issuer=settings.CUSTODIAN_OIDC_ISSUER,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            leeway=60,
        )
    except jwt.InvalidTokenError as exc:
        raise SuspiciousOperation(f"ID token refused: {exc}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SuspiciousOperation("ID token for several audiences without our azp")
    return claims


class _Client(OIDCAuthenticationBackend):
    get_settings = staticmethod(library_setting)

    def get_payload_data(self, token: Any, key: Any) -> dict[str, Any]:
        return id_token_claims(token, key)

    def callback_claims(
        self, request: HttpRequest, *, code: str, nonce: str, code_verifier: str | None
    ) -> ProviderClaims:
        """Exchange the code (with the PKCE verifier), verify the ID token, read userinfo."""
        self.request = request
        tokens = self.get_token(
            {
                "client_id": settings.CUSTODIAN_OIDC_CLIENT_ID,
                "client_secret": settings.CUSTODIAN_OIDC_CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": absolutify(
                    request, reverse(settings.OIDC_AUTHENTICATION_CALLBACK_URL)
                ),
                "code_verifier": code_verifier,
            }
        )
        if not tokens.get("id_token"):
            raise SuspiciousOperation("the token response has no ID token")
        id_token = self.verify_token(tokens["id_token"], nonce=nonce)
        claims = dict(id_token)
        if self.OIDC_OP_USER_ENDPOINT and tokens.get("access_token"):
            userinfo = self.get_userinfo(tokens["access_token"], tokens["id_token"], id_token)
            # Core 1.0, 5.3.2: userinfo about anyone else must not be used.
            if str(userinfo.get("sub")) != str(id_token["sub"]):
                raise SuspiciousOperation("userinfo describes another subject")
            claims.update({k: v for k, v in userinfo.items() if k not in id_token})
        verified = claims.get("email_verified")
        return ProviderClaims(
            issuer=str(id_token["iss"]),
            subject=str(id_token["sub"]),
            email=str(claims.get("email") or ""),
            # Some providers send the JSON string "true".
            email_verified=verified is True or str(verified).lower() == "true",
            name=str(claims.get("name") or "").strip(),
            # Only the signed ID token's acr/amr count, never userinfo's.
            mfa=mfa_asserted(id_token),
        )


@dataclass(frozen=True)
class Callback:
    claims: ProviderClaims
    link_user_id: int | None
    next_url: str | None


def callback(request: HttpRequest) -> Callback:
    """Check the provider's answer against the sign-in this browser started (its state, used
    once), then against the provider itself."""
    name = provider_name()
    state = request.GET.get("state", "")
    states = request.session.get("oidc_states")
    started = states.pop(state, None) if isinstance(states, dict) and state else None
    request.session.modified = True
    if started is None:
        raise SignOnError(
            _(
                "This sign-in answer does not match a sign-in started in this browser, or it "
                "was used already. Start again from the sign-in page."
            ),
            code="sign_on_state",
        )
    if request.GET.get("error") or not request.GET.get("code"):
        logger.info(
            "OpenID Connect provider answered %s: %s",
            request.GET.get("error", "no code"),
            request.GET.get("error_description", ""),
        )
        raise SignOnError(
            _("%(name)s did not sign you in. Start again, or sign in with your password.")
            % {"name": name},
            code="sign_on_denied",
        )
    try:
        claims = _Client().callback_claims(
            request,
            code=request.GET["code"],
            nonce=started.get("nonce", ""),
            code_verifier=started.get("code_verifier"),
        )
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 502
        logger.warning("OpenID Connect provider refused the code exchange: %s", exc)
        if status >= 500:
            raise _unavailable() from exc
        raise SignOnError(
            _(
                "%(name)s did not accept this sign-in: it may have taken too long. Start "
                "again from the sign-in page."
            )
            % {"name": name},
            code="sign_on_rejected",
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OpenID Connect provider unreachable during the callback: %s", exc)
        raise _unavailable() from exc
    except (SuspiciousOperation, jwt.PyJWTError, KeyError, TypeError) as exc:
        # A token or key set that does not parse is as unusable as one that does not verify.
        logger.warning("OpenID Connect answer refused: %r", exc)
        raise SignOnError(
            _(
                "The answer from %(name)s could not be verified, so it was not used. Start "
                "again from the sign-in page."
            )
            % {"name": name},
            code="sign_on_unverified",
        ) from exc
    link_user_id = started.get("link_user_id")
    next_url = None if link_user_id else request.session.pop("oidc_login_next", None)
    return Callback(claims=claims, link_user_id=link_user_id, next_url=next_url)
