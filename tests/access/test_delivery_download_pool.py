"""CUSTODIAN_DOWNLOAD_URL: with a download pool of its own (`make run` starts one), signed
links point at it, on the delivery page and in the API alike; unset, they stay on the
portal's own address."""

from __future__ import annotations

from typing import Any

from django.test import Client

from access.models import SignedLink
from access.selectors.deliveries import link_token
from access.services import delivery_request
from portal.models import User
from tests.access.api_support import api_client
from tests.access.delivery_support import World
from tests.conftest import signed_in_client

POOL = "http://downloads.example.org:8001"


def _delivery(world: World, researcher: User, capture: Any) -> tuple[int, str]:
    with capture(execute=True):
        delivery = delivery_request(
            actor=researcher, grant=world.grant, datafile_ids=[world.bam_s000.pk]
        )
    link = SignedLink.objects.get(delivery_file__delivery=delivery, delivery_file__is_index=False)
    return delivery.pk, f"/access/download/{link_token(link)}/S000.bam"


def test_links_point_at_the_download_pool_when_it_is_set(
    delivery_world: World,
    researcher: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.CUSTODIAN_DOWNLOAD_URL = POOL
    delivery_id, path = _delivery(delivery_world, researcher, django_capture_on_commit_callbacks)
    page = signed_in_client(researcher).get(f"/access/deliveries/{delivery_id}/")
    api = api_client(researcher).get(f"/api/v1/access/deliveries/{delivery_id}/").json()

    assert f"curl -o S000.bam '{POOL}{path}'" in page.content.decode()
    assert api["links"][0]["url"] == f"{POOL}{path}"
    # The pool serves the same application: the path works on any of its servers.
    assert Client().head(path).status_code == 200


def test_links_stay_on_the_portal_without_a_pool(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    delivery_id, path = _delivery(delivery_world, researcher, django_capture_on_commit_callbacks)

    api = api_client(researcher).get(f"/api/v1/access/deliveries/{delivery_id}/").json()

    assert api["links"][0]["url"] == f"http://testserver{path}"
