"""`visa_verify` trusts this portal's published keys only: tampered visas, visas signed by
another key (whatever jku they name), the wrong algorithm, issuer or an expired visa are
refused with a precise message; a jku is never fetched."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from access.selectors.visas import VisaContent
from access.services.visas import visa_key_current
from access.visas import VisaError, visa_sign, visa_verify
from tests.access.visa_support import site  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]

CONTENT = VisaContent(
    type="ControlledAccessGrants",
    value="https://custodian.example/datasets/CDS000001/",
    source="https://custodian.example/ga4gh/dacs/1",
    by="dac",
    asserted=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    ends=None,
)


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(timezone.now().timestamp())
    return {
        "iss": "https://custodian.example",
        "sub": "7",
        "iat": now,
        "exp": now + 600,
        "jti": "2f1f4c0e-4d7e-4cc4-9d1b-6b5e2b0c5a11",
        "ga4gh_visa_v1": CONTENT.claim(),
        **changes,
    }


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    jwks: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).hits.append(self.path)
        body = json.dumps(type(self).jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker_jwks_server() -> Iterator[tuple[str, type[_Recorder]]]:
    """A JWKS server the attacker controls, on this machine: it records every request."""
    handler = type("Recorder", (_Recorder,), {"hits": [], "jwks": {}})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", handler
    server.shutdown()
    server.server_close()


def test_a_visa_of_ours_verifies() -> None:
    key = visa_key_current()
    token = visa_sign(CONTENT, subject="7", key=key)

    claims = visa_verify(token)

    assert claims["ga4gh_visa_v1"] == {
        "type": "ControlledAccessGrants",
        "value": "https://custodian.example/datasets/CDS000001/",
        "source": "https://custodian.example/ga4gh/dacs/1",
        "by": "dac",
        "asserted": 1793611800,
    }
    assert claims["sub"] == "7"
    assert claims["iss"] == "https://custodian.example"


def test_a_tampered_visa_fails() -> None:
    token = visa_sign(CONTENT, subject="7", key=visa_key_current())
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["ga4gh_visa_v1"]["value"] = "https://custodian.example/datasets/CDS000999/"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    with pytest.raises(VisaError) as refused:
        visa_verify(f"{header}.{forged}.{signature}")

    assert refused.value.code == "visa_bad_signature"
    assert refused.value.message == (
        "This visa's signature does not match its content: it was altered or forged."
    )


def test_another_keys_visa_naming_its_own_jku_fails_and_the_jku_is_never_fetched(
    attacker_jwks_server: tuple[str, type[_Recorder]],
) -> None:
    visa_key_current()
    url, recorder = attacker_jwks_server
    other = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(other.public_key(), as_dict=True)
    recorder.jwks = {"keys": [{**jwk, "kid": "attacker-key", "alg": "ES256"}]}
    token = jwt.encode(
        _claims(), other, algorithm="ES256", headers={"kid": "attacker-key", "jku": url}
    )

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.code == "visa_unknown_key"
    assert recorder.hits == []


def test_another_key_claiming_our_kid_fails(
    attacker_jwks_server: tuple[str, type[_Recorder]],
) -> None:
    ours = visa_key_current()
    url, recorder = attacker_jwks_server
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(), other, algorithm="ES256", headers={"kid": ours.kid, "jku": url})

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.code == "visa_bad_signature"
    assert recorder.hits == []


def test_a_token_choosing_another_algorithm_for_our_key_fails() -> None:
    ours = visa_key_current()
    # The classic confusion: an HMAC "signed" with published public key material as the secret.
    secret = ours.public_jwk["x"] + ours.public_jwk["y"]
    token = jwt.encode(_claims(), secret, algorithm="HS256", headers={"kid": ours.kid})

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.message == "This visa claims the algorithm 'HS256', not its key's ES256."


def test_an_unsigned_token_fails() -> None:
    ours = visa_key_current()
    token = jwt.encode(_claims(), None, algorithm="none", headers={"kid": ours.kid})

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.message == "This visa claims the algorithm 'none', not its key's ES256."


def test_an_expired_visa_fails() -> None:
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)
    token = visa_sign(CONTENT, subject="7", key=visa_key_current(), now=two_hours_ago)

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.code == "visa_expired"
    assert refused.value.message == "This visa has expired. Fetch a new passport."


def test_a_visa_issued_under_another_site_url_fails(settings: Any) -> None:
    key = visa_key_current()
    settings.SITE_URL = "https://elsewhere.example"
    token = visa_sign(CONTENT, subject="7", key=key)
    settings.SITE_URL = "https://custodian.example"

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.code == "visa_wrong_issuer"
    assert refused.value.message == (
        "This visa was issued by someone else, not https://custodian.example."
    )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "This is not a visa: a visa is a signed JWT in three dot-separated parts."),
        ("abc", "This is not a visa: a visa is a signed JWT in three dot-separated parts."),
        ("a.b.c", "This visa cannot be read: its header is not valid JSON."),
    ],
)
def test_garbage_is_refused_plainly(token: str, message: str) -> None:
    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.message == message
    assert refused.value.http_status == 401


def test_a_token_without_a_visa_claim_fails() -> None:
    ours = visa_key_current()
    from access.visas import private_key

    claims = _claims()
    del claims["ga4gh_visa_v1"]
    token = jwt.encode(claims, private_key(ours), algorithm="ES256", headers={"kid": ours.kid})

    with pytest.raises(VisaError) as refused:
        visa_verify(token)

    assert refused.value.message == "This visa lacks the 'ga4gh_visa_v1' claim."
