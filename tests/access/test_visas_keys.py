"""The signing key at rest: encrypted with a key derived from SECRET_KEY, still readable under
SECRET_KEY_FALLBACKS, refused plainly (503, never a 500) when it cannot be read; the JWKS
lists public members only, with kid = the RFC 7638 thumbprint."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from access import visas
from access.models import AccessRequest, VisaKey
from access.services.visas import visa_key_current
from portal.models import User
from tests.access.visa_support import bearer_client, served_jwks, site  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]


@pytest.fixture(autouse=True)
def _forget_loaded_keys() -> None:
    # Each test starts as a fresh process would: keys are decrypted from the database.
    visas._private_keys.clear()


def test_private_key_is_stored_encrypted() -> None:
    key = visa_key_current()

    stored = VisaKey.objects.values_list("private_key_encrypted", flat=True).get(pk=key.pk)

    assert "PRIVATE KEY" not in stored
    assert not stored.startswith("-----")
    assert stored.startswith("gAAAAA")  # a Fernet token


def test_jwks_lists_public_members_only_with_a_thumbprint_kid(client: Any) -> None:
    key = visa_key_current()

    response = client.get("/ga4gh/jwks.json")

    assert response["Cache-Control"] == "public, max-age=300"
    [jwk] = response.json()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    canonical = json.dumps(
        {"crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":")
    )
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
    assert jwk["kid"] == thumbprint.rstrip(b"=").decode() == key.kid


def test_jwks_before_any_visa_is_empty() -> None:
    assert served_jwks() == {"keys": []}


def test_key_still_signs_after_secret_key_rotation_with_fallback(
    settings: Any, researcher: User
) -> None:
    old_secret = settings.SECRET_KEY
    visa_key_current()
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old_secret]

    response = bearer_client(researcher).get("/ga4gh/passport/v1/visas")

    assert response.status_code == 200


def test_unreadable_key_answers_503_with_what_to_do(
    settings: Any, researcher: User, draft: AccessRequest
) -> None:
    # The draft's accepted agreement gives the researcher a visa to sign.
    visa_key_current()
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"
    settings.SECRET_KEY_FALLBACKS = []
    client = bearer_client(researcher)
    client.raise_request_exception = False

    response = client.get("/ga4gh/passport/v1/visas")

    assert response.status_code == 503
    assert response.json()["detail"] == (
        "The portal cannot read its visa signing key: it was stored under another SECRET_KEY. "
        "An administrator can run `manage.py rotate_visa_key` to make a new one."
    )

    # What the message says to do works: rotation needs no old private key.
    call_command("rotate_visa_key", stdout=io.StringIO())
    assert client.get("/ga4gh/passport/v1/visas").status_code == 200


def test_admin_shows_the_key_without_its_private_part(sign_in: Any) -> None:
    from tests.factories import PASSWORD

    admin = User.objects.create_superuser("admin@example.org", PASSWORD, full_name="Ada Admin")
    key = visa_key_current()
    client = sign_in(admin)

    page = client.get(f"/admin/access/visakey/{key.pk}/change/")

    assert page.status_code == 200
    assert key.kid in page.content.decode()
    assert key.private_key_encrypted not in page.content.decode()
    assert "private" not in page.content.decode().lower()
    assert client.get("/admin/access/visakey/add/").status_code == 403
