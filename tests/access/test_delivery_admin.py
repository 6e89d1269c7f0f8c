"""The admin shows deliveries, their files, participants and signed links read-only (the
delivery services write them): lists filter by status and search by accession; nothing can
be added, changed or deleted there."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from access.models import Delivery, DeliveryStatus, SignedLink
from access.services import delivery_request
from portal.models import Role, User
from tests.access.delivery_support import World
from tests.conftest import signed_in_client
from tests.factories import UserFactory

MODELS = ("delivery", "deliveryfile", "deliveryparticipant", "signedlink")


@pytest.fixture
def admin_client(db: None) -> Client:
    operator = UserFactory(
        email="operator@example.org", role=Role.STEWARD, is_staff=True, is_superuser=True
    )
    return signed_in_client(operator)


@pytest.fixture
def ready(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> Delivery:
    with django_capture_on_commit_callbacks(execute=True):
        delivery = delivery_request(
            actor=researcher,
            grant=delivery_world.grant,
            datafile_ids=[delivery_world.bam_s000.pk],
        )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY
    return delivery


@pytest.mark.parametrize("model", MODELS)
def test_lists_show_and_nothing_can_be_added(
    admin_client: Client, ready: Delivery, model: str
) -> None:
    listing = admin_client.get(f"/admin/access/{model}/")
    add = admin_client.get(f"/admin/access/{model}/add/")

    assert listing.status_code == 200
    assert add.status_code == 403


def test_a_link_cannot_be_changed_or_deleted(admin_client: Client, ready: Delivery) -> None:
    link = SignedLink.objects.filter(delivery_file__delivery=ready).first()
    url = f"/admin/access/signedlink/{link.pk}/change/"

    page = admin_client.get(url).content.decode()
    posted = admin_client.post(url, {"revoked_at_0": "2026-01-01", "revoked_at_1": "00:00"})
    deleted = admin_client.post(f"/admin/access/signedlink/{link.pk}/delete/", {"post": "yes"})

    assert 'name="revoked_at_0"' not in page
    assert (posted.status_code, deleted.status_code) == (403, 403)
    link.refresh_from_db()
    assert link.revoked_at is None


def test_deliveries_filter_by_status_and_search_by_accession(
    admin_client: Client, ready: Delivery, delivery_world: World, researcher: User
) -> None:
    failed = Delivery.objects.create(
        grant=delivery_world.grant, requested_by=researcher, status=DeliveryStatus.FAILED
    )
    accession = delivery_world.request.accession

    ready_only = admin_client.get("/admin/access/delivery/?status__exact=ready").content.decode()
    found = admin_client.get(f"/admin/access/delivery/?q={accession}").content.decode()
    nothing = admin_client.get("/admin/access/delivery/?q=CAR999999").content.decode()

    assert f"/admin/access/delivery/{ready.pk}/change/" in ready_only
    assert f"/admin/access/delivery/{failed.pk}/change/" not in ready_only
    assert f"/admin/access/delivery/{ready.pk}/change/" in found
    assert f"/admin/access/delivery/{failed.pk}/change/" in found
    assert "/admin/access/delivery/" + str(ready.pk) + "/change/" not in nothing
