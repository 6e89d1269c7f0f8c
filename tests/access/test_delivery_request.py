"""Asking for download links: only the grant's holder, only while the grant is active, only
files of the grant's dataset; the delivery starts PREPARING and its task runs after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from access.models import Delivery, DeliveryStatus
from access.services import delivery_request, grants_revoke
from access.services.base import AccessConflict, AccessProblems
from portal.exceptions import NotFoundError, PermissionError_
from portal.models import AuditEvent, User
from tests.access.delivery_support import World


def test_a_request_is_recorded_preparing_and_prepared_after_commit(
    delivery_world: World, researcher: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = delivery_request(actor=researcher, grant=delivery_world.grant)

    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PREPARING
    assert AuditEvent.objects.filter(action="delivery.request", object_id=str(delivery.pk)).exists()
    assert len(callbacks) == 1
    callbacks[0]()
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.READY


def test_only_the_grants_holder_may_ask(
    delivery_world: World, dac_member: User, outsider: User
) -> None:
    with pytest.raises(PermissionError_) as refused:
        delivery_request(actor=dac_member, grant=delivery_world.grant)
    with pytest.raises(NotFoundError):
        delivery_request(actor=outsider, grant=delivery_world.grant)

    assert refused.value.message == "Only the holder of a grant can ask for its download links."
    assert not Delivery.objects.exists()


def test_a_revoked_grant_gives_no_links(
    delivery_world: World, researcher: User, dac_chair: User
) -> None:
    grants_revoke(
        actor=dac_chair,
        request=delivery_world.request,
        committee=delivery_world.grant.review.committee,
        reason="Breach of the agreement.",
    )
    delivery_world.grant.refresh_from_db()

    with pytest.raises(AccessConflict) as refused:
        delivery_request(actor=researcher, grant=delivery_world.grant)

    assert refused.value.message == (
        "This grant was revoked: download links cannot be issued under it."
    )


def test_an_ended_grant_gives_no_links(delivery_world: World, researcher: User) -> None:
    grant = delivery_world.grant
    grant.starts_on = grant.ends_on = dt.date(2025, 3, 1)
    grant.save(update_fields=["starts_on", "ends_on"])

    with pytest.raises(AccessConflict) as refused:
        delivery_request(actor=researcher, grant=grant)

    assert refused.value.message == (
        "This grant ended on 01 March 2025: download links cannot be issued."
    )


def test_files_must_be_data_files_of_the_grants_dataset(
    delivery_world: World, researcher: User
) -> None:
    index = delivery_world.bam_s000.index

    with pytest.raises(AccessProblems) as refused:
        delivery_request(
            actor=researcher, grant=delivery_world.grant, datafile_ids=[index.pk, 999999]
        )

    assert refused.value.errors == {
        "datafile_ids": [f"No such data file in this dataset: {index.pk}, 999999."]
    }


def test_a_lifetime_must_be_positive(delivery_world: World, researcher: User) -> None:
    with pytest.raises(AccessProblems):
        delivery_request(actor=researcher, grant=delivery_world.grant, lifetime_seconds=0)


def test_the_button_posts_and_leads_to_the_delivery_page(
    delivery_world: World,
    researcher: User,
    sign_in: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = sign_in(researcher)
    page = client.get(f"/access/requests/{delivery_world.request.accession}/")
    action = f"/access/grants/{delivery_world.grant.pk}/deliveries/"
    assert f'action="{action}"' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action)

    delivery = Delivery.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/access/deliveries/{delivery.pk}/"
    assert delivery.status == DeliveryStatus.READY


def test_the_button_refuses_in_the_page(
    delivery_world: World, researcher: User, dac_member: User, sign_in: Any
) -> None:
    grant = delivery_world.grant
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    action = f"/access/grants/{grant.pk}/deliveries/"

    refused = sign_in(researcher).post(action)
    member = sign_in(dac_member).post(action)

    assert refused.status_code == 409
    assert "This grant was revoked" in refused.content.decode()
    assert member.status_code == 403
    assert Client().post(action).status_code == 302  # to the sign-in page
