"""Tampered links: any change to the signed token, a re-signed expiry or link id that does not
match the database, or another link's name: refused (403 or 404), never served, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import signing
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.models import SignedLink
from access.selectors.deliveries import LINK_SALT, link_token
from access.services import delivery_request
from portal.models import User
from tests.access.delivery_support import (
    World,
)

TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:.~%"


@pytest.fixture
def bam_link(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> SignedLink:
    with django_capture_on_commit_callbacks(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=delivery_world.grant, datafile_ids=[delivery_world.bam_s000.pk]
        )
    return SignedLink.objects.select_related("delivery_file").get(
        delivery_file__delivery=delivery, delivery_file__is_index=False
    )


@st.composite
def tampered(draw: st.DrawFn, token: str) -> str:
    """The token with one character replaced, inserted or deleted, or a tail cut off."""
    kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    at = draw(st.integers(min_value=0, max_value=len(token) - 1))
    char = draw(st.sampled_from(TOKEN_ALPHABET))
    if kind == "replace":
        return token[:at] + char + token[at + 1 :]
    if kind == "insert":
        return token[:at] + char + token[at:]
    if kind == "delete":
        return token[:at] + token[at + 1 :]
    return token[:at]


def test_any_change_to_the_token_is_refused(bam_link: SignedLink) -> None:
    token = link_token(bam_link)
    client = Client()
    assert client.head(f"/access/download/{token}/S000.bam").status_code == 200

    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(changed=tampered(token))
    def probe(changed: str) -> None:
        if changed == token:
            return
        response = client.get(f"/access/download/{changed}/S000.bam")
        assert response.status_code in {403, 404}, (changed, response.status_code)

    probe()


def test_a_token_signed_with_another_key_is_forbidden(bam_link: SignedLink) -> None:
    payload = {"l": bam_link.pk, "e": int(bam_link.expires_at.timestamp()) + 86400}
    forged = signing.Signer(key="not-the-portal-key", salt=LINK_SALT).sign_object(payload)

    assert Client().get(f"/access/download/{forged}/S000.bam").status_code == 403


def test_an_altered_expiry_does_not_match_the_link(bam_link: SignedLink) -> None:
    # Even validly signed (a leaked key), a later expiry than the database's is refused.
    payload = {"l": bam_link.pk, "e": int(bam_link.expires_at.timestamp()) + 86400}
    token = signing.Signer(salt=LINK_SALT).sign_object(payload)

    assert Client().get(f"/access/download/{token}/S000.bam").status_code == 404


def test_an_altered_link_id_is_not_found(bam_link: SignedLink) -> None:
    payload = {"l": bam_link.pk + 1000, "e": int(bam_link.expires_at.timestamp())}
    token = signing.Signer(salt=LINK_SALT).sign_object(payload)

    assert Client().get(f"/access/download/{token}/S000.bam").status_code == 404


def test_a_signed_value_of_the_wrong_shape_is_forbidden(bam_link: SignedLink) -> None:
    for value in ("just a string", {"l": "x", "e": 1}, {"link": bam_link.pk}):
        token = signing.Signer(salt=LINK_SALT).sign_object(value)
        assert Client().get(f"/access/download/{token}/S000.bam").status_code == 403, value


def test_a_timestamped_token_of_the_same_value_is_forbidden(bam_link: SignedLink) -> None:
    payload = {"l": bam_link.pk, "e": int(bam_link.expires_at.timestamp())}
    token = signing.dumps(payload, salt=LINK_SALT)

    assert Client().get(f"/access/download/{token}/S000.bam").status_code == 403


def test_another_salt_is_forbidden(bam_link: SignedLink) -> None:
    payload = {"l": bam_link.pk, "e": int(bam_link.expires_at.timestamp())}
    token = signing.Signer(salt="another.purpose").sign_object(payload)

    assert Client().get(f"/access/download/{token}/S000.bam").status_code == 403
