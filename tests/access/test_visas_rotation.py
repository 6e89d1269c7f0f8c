"""Rotating the signing key: new visas carry the new kid; visas signed before stay verifiable
(the old public key stays in the JWKS) until they have all expired, then the key leaves."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from django.utils import timezone

from access.models import AccessRequest, VisaKey
from access.services.visas import visa_key_current, visa_key_rotate
from access.visas import VisaError, visa_verify
from portal.models import AuditEvent, User
from tests.access.visa_support import (  # noqa: F401 - fixture
    passport_of,
    served_jwks,
    site,
    verify_with_jwks,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("site")]


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_rotation_keeps_old_visas_verifiable_and_signs_new_ones_with_the_new_key(
    approved_request: AccessRequest, researcher: User
) -> None:
    before = passport_of(researcher)
    old_kid = _kid(before[0])

    call_command("rotate_visa_key", stdout=io.StringIO())
    after = passport_of(researcher)

    new_kid = _kid(after[0])
    assert new_kid != old_kid
    assert {_kid(t) for t in after} == {new_kid}
    assert [k["kid"] for k in served_jwks()["keys"]] == [new_kid, old_kid]
    for token in [*before, *after]:
        assert verify_with_jwks(token)["sub"] == str(researcher.pk)
        assert visa_verify(token)["sub"] == str(researcher.pk)


def test_retired_key_is_published_exactly_as_long_as_its_longest_visa(settings: Any) -> None:
    settings.CUSTODIAN_VISA_MAX_SECONDS = 1800
    first = visa_key_current()

    new, retired = visa_key_rotate(actor=None)

    [old] = retired
    assert old.pk == first.pk
    assert old.published_until - old.retired_at == dt.timedelta(seconds=1800)
    assert new.retired_at is None
    assert new.published_until is None


def test_once_its_visas_have_expired_the_old_key_leaves_the_jwks(
    approved_request: AccessRequest, researcher: User
) -> None:
    old_visa = passport_of(researcher)[0]
    new, [old] = visa_key_rotate(actor=None)
    # An hour and more later: the retired key's visas have all expired.
    VisaKey.objects.filter(pk=old.pk).update(
        retired_at=timezone.now() - dt.timedelta(hours=2),
        published_until=timezone.now() - dt.timedelta(hours=1),
    )

    assert [k["kid"] for k in served_jwks()["keys"]] == [new.kid]
    with pytest.raises(VisaError) as refused:
        visa_verify(old_visa)
    assert refused.value.code == "visa_unknown_key"


def test_rotate_to_rs256_and_every_visa_verifies(
    approved_request: AccessRequest, researcher: User
) -> None:
    out = io.StringIO()
    call_command("rotate_visa_key", "--algorithm", "RS256", stdout=out)

    tokens = passport_of(researcher)

    assert {jwt.get_unverified_header(t)["alg"] for t in tokens} == {"RS256"}
    for token in tokens:
        verify_with_jwks(token)
    key = VisaKey.objects.get(retired_at__isnull=True)
    assert key.public_jwk["kty"] == "RSA"
    assert out.getvalue().startswith(f"visas are now signed with RS256 key {key.kid}\n")


def test_the_command_names_the_new_and_retired_keys() -> None:
    first = visa_key_current()
    out = io.StringIO()

    call_command("rotate_visa_key", stdout=out)

    new = VisaKey.objects.get(retired_at__isnull=True)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"visas are now signed with ES256 key {new.kid}"
    assert lines[1].startswith(f"retired key {first.kid}: published until ")


def test_rotation_is_audited() -> None:
    first = visa_key_current()

    new, _ = visa_key_rotate(actor=None)

    event = AuditEvent.objects.filter(action="visa_key.rotate").get()
    assert event.object_id == str(new.pk)
    assert event.after["retired"] == [first.kid]


def test_first_use_creates_one_key_only() -> None:
    assert VisaKey.objects.count() == 0

    first = visa_key_current()
    again = visa_key_current()

    assert first.pk == again.pk
    assert VisaKey.objects.count() == 1
    assert first.algorithm == "ES256"
