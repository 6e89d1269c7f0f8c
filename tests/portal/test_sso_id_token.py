"""The ID token checks the relying-party library leaves out: issuer, audience, expiry and the
algorithm, besides the RS256 signature (tokens signed here with a key made for the test)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation

from portal.oidc import id_token_claims

ISSUER = "https://login.example.org/oidc"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def _provider(settings: Any) -> None:
    settings.CUSTODIAN_OIDC_ISSUER = ISSUER
    settings.CUSTODIAN_OIDC_CLIENT_ID = "portal"


def token(key: Any = KEY, algorithm: str = "RS256", **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "portal", "sub": "sub-1", "iat": now, "exp": now + 300}
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm)


def test_sso_id_token_good_one_gives_its_claims() -> None:
    assert id_token_claims(token(amr=["pwd", "mfa"]), KEY.public_key())["amr"] == ["pwd", "mfa"]


def test_sso_id_token_for_several_audiences_with_our_azp_accepted() -> None:
    claims = id_token_claims(token(aud=["portal", "other"], azp="portal"), KEY.public_key())

    assert claims["sub"] == "sub-1"


@pytest.mark.parametrize(
    ("name", "signed"),
    [
        ("other key", token(OTHER_KEY)),
        ("other issuer", token(iss="https://evil.example")),
        ("other audience", token(aud="another-client")),
        ("several audiences, no azp", token(aud=["portal", "other"])),
        ("expired", token(exp=int(time.time()) - 3600)),
        ("no expiry", token(exp=None)),
        ("no subject", token(sub=None)),
        ("HMAC with the public key", token(key=b"k" * 32, algorithm="HS256")),
    ],
)
def test_sso_id_token_refused(name: str, signed: str) -> None:
    with pytest.raises(SuspiciousOperation):
        id_token_claims(signed, KEY.public_key())


def test_sso_id_token_garbage_refused() -> None:
    with pytest.raises(SuspiciousOperation):
        id_token_claims("not.a.token", KEY.public_key())
