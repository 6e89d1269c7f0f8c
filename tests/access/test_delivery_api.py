"""The delivery API: ask for links under a grant (202, then poll), read the delivery with its
absolute signed links; refusals are problem+json."""

from __future__ import annotations

import hashlib
from typing import Any

from django.test import Client
from django.utils import timezone

from access.models import Delivery, DeliveryStatus
from portal.models import User
from tests.access.api_support import api_client, problem
from tests.access.delivery_support import World

A = "/api/v1/access"


def test_ask_then_poll_until_the_links_are_ready(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = api_client(researcher)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        asked = client.post(
            f"{A}/grants/{delivery_world.grant.pk}/deliveries/",
            {"datafile_ids": [delivery_world.bam_s000.pk], "lifetime_seconds": 600},
            format="json",
        )
    delivery = Delivery.objects.get()
    assert asked.status_code == 202
    assert asked["Location"] == f"http://testserver{A}/deliveries/{delivery.pk}/"
    assert (asked.json()["status"], asked.json()["links"]) == ("preparing", [])

    for callback in queued:
        callback()
    body = client.get(f"{A}/deliveries/{delivery.pk}/").json()

    assert body["status"] == DeliveryStatus.READY
    assert body["request"] == delivery_world.request.accession
    assert body["sample_set_hash"] == hashlib.sha256(b"S000").hexdigest()
    [link] = body["links"]
    assert (link["name"], link["index_name"]) == ("S000.bam", "S000.bam.bai")
    assert link["sha256"] == delivery_world.bam_s000.sha256
    assert link["url"].startswith("http://testserver/access/download/")
    download = Client().get(link["url"].removeprefix("http://testserver"))
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == delivery_world.bam_s000.sha256


def test_refusals_are_problems(
    delivery_world: World, researcher: User, dac_member: User, outsider: User
) -> None:
    url = f"{A}/grants/{delivery_world.grant.pk}/deliveries/"
    grant = delivery_world.grant
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])

    revoked = api_client(researcher).post(url, {}, format="json")
    member = api_client(dac_member).post(url, {}, format="json")
    stranger = api_client(outsider).post(url, {}, format="json")
    invalid = api_client(researcher).post(url, {"lifetime_seconds": 0}, format="json")

    assert (revoked.status_code, problem(revoked)["detail"]) == (
        409,
        "This grant was revoked: download links cannot be issued under it.",
    )
    assert member.status_code == 403
    assert stranger.status_code == 404
    assert invalid.status_code == 400
    assert not Delivery.objects.exists()


def test_another_persons_delivery_is_not_found(
    delivery_world: World, researcher: User, dac_chair: User
) -> None:
    delivery = Delivery.objects.create(grant=delivery_world.grant, requested_by=researcher)

    assert api_client(dac_chair).get(f"{A}/deliveries/{delivery.pk}/").status_code == 404
    assert api_client().get(f"{A}/deliveries/{delivery.pk}/").status_code == 401
