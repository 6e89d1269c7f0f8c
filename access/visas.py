"""GA4GH Passport visas: the portal's signing keys, signing, the JWKS, and verification.

A visa is a JWT signed with the portal's current `VisaKey` (ES256 by default, RS256 on
request), its header naming the key (`kid`) and where the public keys are published (`jku`).
Private keys are kept encrypted with a Fernet key derived from SECRET_KEY by HKDF; keys
encrypted under a SECRET_KEY_FALLBACKS entry still decrypt, so rotating SECRET_KEY the
Django way keeps the signing key usable.

`visa_verify` trusts only this portal's own published keys, looked up by `kid` in the
database: a token's `jku` is never fetched or followed, so a visa signed elsewhere (whatever
URL it names) fails. No views here; the writes (creating and rotating keys) are services in
access/services/visas.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from access.models import VisaAlgorithm, VisaKey
from access.selectors.visas import VisaContent
from portal.exceptions import PortalError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_HKDF_INFO = b"custodian.access.visa-key"
# The claims every visa of this portal carries (GA4GH AAI: iss, sub, iat, exp; jti for logs).
REQUIRED_CLAIMS = ("iss", "sub", "iat", "exp", "jti", "ga4gh_visa_v1")
VISA_TYPES = frozenset(
    {
        "AffiliationAndRole",
        "AcceptedTermsAndPolicies",
        "ResearcherStatus",
        "ControlledAccessGrants",
        "LinkedIdentities",
    }
)


class VisaError(PortalError):
    """A visa this portal does not accept; the message says what is wrong with it."""

    code = "invalid_visa"
    http_status = 401


class VisaKeyUnavailable(PortalError):
    """The stored signing key cannot be decrypted (SECRET_KEY changed without a fallback)."""

    code = "visa_key_unavailable"
    http_status = 503


# --- keys ---------------------------------------------------------------------------------------


def _fernet_for(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(secret) for secret in secrets])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: base64url SHA-256 of the key's required members as canonical JSON."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def new_key_material(algorithm: str) -> tuple[str, str, dict[str, Any]]:
    """A fresh key pair: (kid, encrypted private PEM, public JWK with kid, alg and use)."""
    private: PrivateKey
    if algorithm == VisaAlgorithm.ES256:
        private = ec.generate_private_key(ec.SECP256R1())
        public_jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif algorithm == VisaAlgorithm.RS256:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise PortalError(f"{algorithm} is not a visa algorithm (use ES256 or RS256).")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    kid = jwk_thumbprint(public_jwk)
    public_jwk = {**public_jwk, "kid": kid, "alg": algorithm, "use": "sig"}
    return kid, _fernet().encrypt(pem).decode("ascii"), public_jwk


_private_keys: dict[str, PrivateKey] = {}
_private_keys_lock = threading.Lock()


def private_key(key: VisaKey) -> PrivateKey:
    """The decrypted signing key, loaded once per process (a kid never changes its key)."""
    with _private_keys_lock:
        cached = _private_keys.get(key.kid)
    if cached is not None:
        return cached
    try:
        pem = _fernet().decrypt(key.private_key_encrypted.encode("ascii"))
    except InvalidToken as exc:
        raise VisaKeyUnavailable(
            "The portal cannot read its visa signing key: it was stored under another "
            "SECRET_KEY. An administrator can run `manage.py rotate_visa_key` to make a new one."
        ) from exc
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise VisaKeyUnavailable("The stored visa signing key is of an unexpected kind.")
    with _private_keys_lock:
        _private_keys[key.kid] = loaded
    return loaded


def published_keys(now: dt.datetime | None = None) -> QuerySet[VisaKey]:
    """The keys a verifier may need: the current one and retired ones whose visas live on."""
    now = now or timezone.now()
    return VisaKey.objects.filter(Q(retired_at__isnull=True) | Q(published_until__gt=now))


def jwks(now: dt.datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"keys": [key.public_jwk for key in published_keys(now).order_by("-created_at")]}


def jwks_url() -> str:
    return settings.SITE_URL + reverse("ga4gh:jwks")


def issuer() -> str:
    return settings.SITE_URL


# --- signing ------------------------------------------------------------------------------------


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def visa_expiry(content: VisaContent, now: dt.datetime) -> dt.datetime:
    """The configured maximum, or sooner the end of what the visa asserts."""
    longest = now + dt.timedelta(seconds=settings.CUSTODIAN_VISA_MAX_SECONDS)
    return min(longest, content.ends) if content.ends is not None else longest


def visa_sign(
    content: VisaContent, *, subject: str, key: VisaKey, now: dt.datetime | None = None
) -> str:
    """One visa as a compact JWS: the portal's claims around the assertion."""
    now = now or timezone.now()
    claims = {
        "iss": issuer(),
        "sub": subject,
        "iat": _epoch(now),
        "exp": _epoch(visa_expiry(content, now)),
        "jti": str(uuid.uuid4()),
        "ga4gh_visa_v1": content.claim(),
    }
    headers = {"typ": "JWT", "kid": key.kid, "jku": jwks_url()}
    return jwt.encode(claims, private_key(key), algorithm=key.algorithm, headers=headers)


def visa_subject(user_id: int) -> str:
    """The visa's `sub`: the account's id at this portal (stable when the email changes)."""
    return str(user_id)


def passport(
    contents: Iterable[VisaContent], *, user_id: int, key: VisaKey
) -> dict[str, list[str]]:
    now = timezone.now()
    subject = visa_subject(user_id)
    return {
        "ga4gh_passport_v1": [
            visa_sign(content, subject=subject, key=key, now=now) for content in contents
        ]
    }


# --- verification -------------------------------------------------------------------------------


def visa_verify(token: str) -> dict[str, Any]:
    """The claims of a visa this portal signed, or VisaError saying why it is refused.

    Only keys in this portal's database count, found by the header's `kid`; the header's
    `jku` is ignored (never fetched), and the algorithm must be the key's own, so a token
    cannot pick a weaker one.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise VisaError("This is not a visa: a visa is a signed JWT in three dot-separated parts.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise VisaError("This visa cannot be read: its header is not valid JSON.") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise VisaError("This visa names no signing key (kid): it was not issued by this portal.")
    key = published_keys().filter(kid=kid).first()
    if key is None:
        raise VisaError(
            "This visa was signed with a key this portal does not publish: it was issued "
            "elsewhere, or its key was retired after all its visas expired.",
            code="visa_unknown_key",
        )
    if header.get("alg") != key.algorithm:
        raise VisaError(
            f"This visa claims the algorithm {header.get('alg')!r}, not its key's {key.algorithm}.",
            code="visa_bad_signature",
        )
    public = jwt.PyJWK(key.public_jwk, algorithm=key.algorithm).key
    try:
        claims = jwt.decode(
            token,
            public,
            algorithms=[key.algorithm],
            issuer=issuer(),
            options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise VisaError(
            "This visa has expired. Fetch a new passport.", code="visa_expired"
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise VisaError(
            "This visa's signature does not match its content: it was altered or forged.",
            code="visa_bad_signature",
        ) from exc
    except jwt.InvalidIssuerError as exc:
        raise VisaError(
            f"This visa was issued by someone else, not {issuer()}.", code="visa_wrong_issuer"
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise VisaError(f"This visa lacks the {exc.claim!r} claim.") from exc
    except jwt.InvalidTokenError as exc:
        raise VisaError(f"This visa is not valid: {exc}.") from exc
    visa = claims.get("ga4gh_visa_v1")
    if not isinstance(visa, dict) or visa.get("type") not in VISA_TYPES:
        raise VisaError("This token is not a GA4GH visa: its ga4gh_visa_v1 claim is missing.")
    return claims
