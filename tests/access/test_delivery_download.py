"""The signed download: whole files, HEAD, one byte range, and every refusal (403/404/410).

Requests are anonymous: the signed URL is the credential, as for curl and htslib.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from access.models import Delivery, SignedLink
from access.selectors.deliveries import link_token, link_url
from access.services import delivery_request, grants_revoke
from portal.models import User
from tests.access.delivery_support import (
    World,
)

OLD_KEY = "an-old-secret-key-that-signed-the-link-before-rotation-0123456789"
NEW_KEY = "the-new-secret-key-after-rotation-abcdefghijklmnopqrstuvwxyz-98765"


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


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_whole_file_arrives_with_its_checksum(
    delivery_world: World, bam_link: SignedLink
) -> None:
    expected = (delivery_world.root / "reads/S000.bam").read_bytes()

    response = Client().get(link_url(bam_link))

    assert response.status_code == 200
    body = _body(response)
    assert hashlib.sha256(body).hexdigest() == delivery_world.bam_s000.sha256
    assert body == expected
    assert response["Content-Length"] == str(len(expected))
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{delivery_world.bam_s000.sha256}"'
    assert response["Content-Disposition"] == 'attachment; filename="S000.bam"'


def test_head_gives_the_headers_without_the_body(
    delivery_world: World, bam_link: SignedLink
) -> None:
    size = (delivery_world.root / "reads/S000.bam").stat().st_size

    response = Client().head(link_url(bam_link))

    assert response.status_code == 200
    assert response["Content-Length"] == str(size)
    assert response["Accept-Ranges"] == "bytes"
    assert _body(response) == b""


def test_a_byte_range_answers_206_with_exactly_those_bytes(
    delivery_world: World, bam_link: SignedLink
) -> None:
    content = (delivery_world.root / "reads/S000.bam").read_bytes()
    size = len(content)

    response = Client().get(link_url(bam_link), HTTP_RANGE="bytes=100-1123")

    assert response.status_code == 206
    assert _body(response) == content[100:1124]
    assert response["Content-Range"] == f"bytes 100-1123/{size}"
    assert response["Content-Length"] == "1024"
    assert response["Accept-Ranges"] == "bytes"


def test_open_and_suffix_ranges(delivery_world: World, bam_link: SignedLink) -> None:
    content = (delivery_world.root / "reads/S000.bam").read_bytes()
    size = len(content)
    client = Client()

    tail = client.get(link_url(bam_link), HTTP_RANGE=f"bytes={size - 10}-")
    last = client.get(link_url(bam_link), HTTP_RANGE="bytes=-28")
    beyond = client.get(link_url(bam_link), HTTP_RANGE=f"bytes=0-{size + 500}")

    assert (tail.status_code, _body(tail)) == (206, content[-10:])
    assert tail["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    assert (last.status_code, _body(last)) == (206, content[-28:])
    assert (beyond.status_code, _body(beyond)) == (206, content)
    assert beyond["Content-Range"] == f"bytes 0-{size - 1}/{size}"


def test_an_unsatisfiable_range_answers_416(delivery_world: World, bam_link: SignedLink) -> None:
    size = (delivery_world.root / "reads/S000.bam").stat().st_size

    response = Client().get(link_url(bam_link), HTTP_RANGE=f"bytes={size}-{size + 10}")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=5-2", "items=0-10", "bytes=0-1,5-6", "bytes=-", "nonsense"]
)
def test_a_malformed_range_is_ignored(
    delivery_world: World, bam_link: SignedLink, header: str
) -> None:
    content = (delivery_world.root / "reads/S000.bam").read_bytes()

    response = Client().get(link_url(bam_link), HTTP_RANGE=header)

    assert response.status_code == 200
    assert _body(response) == content


def test_a_different_filename_in_the_url_is_not_found(bam_link: SignedLink) -> None:
    token = link_token(bam_link)

    for name in ("S006.bam", "S000.bam.bai", "..%2F..%2Fetc%2Fpasswd"):
        response = Client().get(f"/access/download/{token}/{name}")
        assert response.status_code == 404, name


def test_an_expired_link_is_gone(bam_link: SignedLink) -> None:
    SignedLink.objects.filter(pk=bam_link.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    bam_link.refresh_from_db()

    response = Client().get(link_url(bam_link))

    assert response.status_code == 410
    assert response.content.decode().startswith("This link expired at ")


def test_a_revoked_link_is_gone(bam_link: SignedLink) -> None:
    SignedLink.objects.filter(pk=bam_link.pk).update(revoked_at=timezone.now())

    response = Client().get(link_url(bam_link))

    assert response.status_code == 410
    assert response.content.decode() == (
        "This link was revoked. Ask for a fresh delivery on the delivery page."
    )


def test_revoking_the_grant_stops_its_links(
    delivery_world: World, bam_link: SignedLink, dac_chair: User
) -> None:
    url = link_url(bam_link)
    assert Client().head(url).status_code == 200

    grants_revoke(
        actor=dac_chair,
        request=delivery_world.request,
        committee=delivery_world.grant.review.committee,
        reason="Breach of the agreement.",
    )

    response = Client().get(url)
    assert response.status_code == 410
    assert response.content.decode() == (
        "Access under this grant was revoked or has ended, so its links no longer work."
    )


def test_an_ended_grant_stops_its_links(delivery_world: World, bam_link: SignedLink) -> None:
    url = link_url(bam_link)
    delivery_world.grant.ends_on = timezone.localdate() - dt.timedelta(days=1)
    delivery_world.grant.starts_on = delivery_world.grant.ends_on
    delivery_world.grant.save(update_fields=["ends_on", "starts_on"])

    assert Client().get(url).status_code == 410


def test_links_survive_a_key_rotation_through_the_fallbacks(bam_link: SignedLink) -> None:
    with override_settings(SECRET_KEY=OLD_KEY):
        url = link_url(bam_link)

    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]):
        assert Client().head(url).status_code == 200
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        assert Client().head(url).status_code == 403


def test_an_index_link_serves_the_index(delivery_world: World, bam_link: SignedLink) -> None:
    delivery = Delivery.objects.get(pk=bam_link.delivery_file.delivery_id)
    index = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=True)

    response = Client().get(link_url(index))

    assert response.status_code == 200
    assert _body(response) == (delivery_world.root / "reads/S000.bam.bai").read_bytes()


def test_a_file_changed_or_removed_since_issuance_is_gone(
    delivery_world: World, bam_link: SignedLink
) -> None:
    path = delivery_world.root / "reads/S000.bam"
    with path.open("ab") as handle:
        handle.write(b"x")
    changed = Client().get(link_url(bam_link))
    path.unlink()
    removed = Client().get(link_url(bam_link))

    message = (
        "S000.bam has changed or been removed since this link was issued. Ask for a fresh "
        "delivery on the delivery page."
    )
    assert (changed.status_code, changed.content.decode()) == (410, message)
    assert (removed.status_code, removed.content.decode()) == (410, message)
